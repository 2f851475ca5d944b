*** Settings ***
Documentation     Mainline Linux boots on the emulated LPC4337's Cortex-M4 and answers on its console.
Library           bench.integrations.robot_library.AmpBench    artifacts=${OUTPUT DIR}/artifacts
Suite Setup       Create Machine    platforms/lpc4337.repl
Test Setup        Start Emulation

*** Test Cases ***
Linux Answers On The Console
    Create Terminal Tester    usart2    timeout=0.5
    Register Failure String    Kernel panic
    Write Line To Uart    cat /sys/class/remoteproc/remoteproc0/name
    ${line}=    Wait For Line On Uart    10080000
    Should Be Equal    ${line}    10080000.remoteproc
    Wait For Prompt On Uart

The Kernel Found The Coprocessor
    ${out}=    Execute Linux Command    ls /sys/class/remoteproc
    Should Contain    ${out}    remoteproc0
    Remote Processor State Should Be    offline

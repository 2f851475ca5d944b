*** Settings ***
Documentation     The Cortex-M0 under Linux remoteproc: start, stop, restart, crash and recovery.
Library           bench.integrations.robot_library.AmpBench    artifacts=${OUTPUT DIR}/artifacts
Suite Setup       Create Machine    platforms/lpc4337.repl
Test Setup        Start Emulation

*** Test Cases ***
Start And Stop The M0 Three Times
    FOR    ${i}    IN RANGE    3
        Remote Processor State Should Be    offline
        Start Remote Processor
        Remote Processor State Should Be    running
        Stop Remote Processor
    END
    Remote Processor State Should Be    offline

A Crashed M0 Is Recovered
    Start Remote Processor
    Crash Remote Processor And Wait For Recovery
    Remote Processor State Should Be    running
    Send RPMsg And Expect Echo    size=64    count=5

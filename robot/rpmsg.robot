*** Settings ***
Documentation     RPMsg echo through the M0, checked byte for byte, over the tty and the endpoint device.
Library           bench.integrations.robot_library.AmpBench    artifacts=${OUTPUT DIR}/artifacts
Suite Setup       Create Machine    platforms/lpc4337.repl
Test Setup        Run Keywords    Start Emulation    AND    Start Remote Processor
Test Template     Echo Should Be Exact

*** Test Cases ***    SIZE    DEVICE
One Byte              1       /dev/ttyRPMSG0
Cache Line            64      /dev/ttyRPMSG0
Largest Payload       496     /dev/ttyRPMSG0
Endpoint Device       496     /dev/rpmsg0

*** Keywords ***
Echo Should Be Exact
    [Arguments]    ${size}    ${device}
    ${echoed}=    Send RPMsg And Expect Echo    size=${size}    count=20    device=${device}
    Should Be Equal As Integers    ${echoed}    20

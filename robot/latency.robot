*** Settings ***
Documentation     Inter-processor latency, exact in emulated cycles (204 MHz): bare-metal IPI and RPMsg sections.
Library           bench.integrations.robot_library.AmpBench    artifacts=${OUTPUT DIR}/artifacts
Suite Setup       Create Machine    platforms/lpc4337.repl

*** Test Cases ***
IPI Latency Of Idle Receivers Is Exact
    ${ipi}=    Measure IPI Latency    rounds=200    load=0
    Should Be Equal As Integers    ${ipi}[m4_to_m0][min]    ${ipi}[m4_to_m0][max]
    Should Be Equal As Integers    ${ipi}[m0_to_m4][min]    ${ipi}[m0_to_m4][max]

IPI Latency Under Load Stays Bounded
    ${ipi}=    Measure IPI Latency    rounds=500    load=1
    Latency Should Be At Most    ${ipi}[m4_to_m0]    p999    400
    Latency Should Be At Most    ${ipi}[m0_to_m4]    p999    400

RPMsg Round Trip Breakdown
    Start Emulation
    Start Remote Processor
    ${sections}=    Measure RPMsg Latency    size=496    count=100
    Should Be Equal As Integers    ${sections}[round_trip][count]    100
    Should Be Equal As Integers    ${sections}[ipi_to_remote][min]    18
    Latency Should Be At Most    ${sections}[round_trip]    max    40000

/*
 * m0_rpmsg - Cortex-M0 (M0APP) remote processor for Linux remoteproc +
 * RPMsg: an echo service on two endpoints.
 *
 * Linux (M4) loads this ELF into SRAM1, copies the resource table back
 * over .resource_table, starts the M0, then fills in the vring addresses
 * and sets DRIVER_OK in the vdev status. This program waits for that,
 * announces "rpmsg-raw" (0x400) and "rpmsg-tty" (0x401) to the name
 * service (53), and echoes every message sent to either endpoint back to
 * its sender, byte for byte. The 8-byte payload "M0CRASH!" crashes the
 * M0 on purpose (udf) for remoteproc recovery tests.
 *
 * Layers: platform.c (interrupts, SEV, sleep, faults) / virtio.c (rings)
 * / rpmsg.c (headers, endpoints, name service) / main.c (this service).
 */
#include <stdint.h>

#include "platform.h"
#include "rpmsg.h"
#include "rsc_table.h"
#include "trace.h"

#define EPT_RAW_ADDR 0x400u
#define EPT_TTY_ADDR 0x401u

/* Status re-reads per burst while waiting for DRIVER_OK; between bursts
 * the core sleeps until Linux's next notification (Linux always kicks
 * vring0 right after setting DRIVER_OK, virtio_rpmsg_probe). */
#define DRIVER_OK_POLL_READS 16u  /* then sleep: polling a shared flag keeps both cores busy */

static const uint8_t crash_cmd[8] = { 'M', '0', 'C', 'R', 'A', 'S', 'H', '!' };

static struct rpmsg_dev rpdev;
static struct rpmsg_ept ept_raw;
static struct rpmsg_ept ept_tty;

static int is_crash_cmd(const uint8_t *data, uint32_t len)
{
    if (len != sizeof(crash_cmd)) {
        return 0;
    }
    for (uint32_t i = 0; i < sizeof(crash_cmd); i++) {
        if (data[i] != crash_cmd[i]) {
            return 0;
        }
    }
    return 1;
}

static int echo_cb(struct rpmsg_dev *dev, struct rpmsg_ept *ept, uint32_t src,
                   const uint8_t *data, uint32_t len)
{
    if (is_crash_cmd(data, len)) {
        platform_crash_inject(src, ept->addr);
    }

    const int r = rpmsg_send(dev, ept->addr, src, data, len);

    if (r == RPMSG_ERR_NOBUF) {
        return RPMSG_RX_RETRY; /* no rx buffer from Linux yet */
    }
    if (ept->rx_count == 0u) {
        log_printf("echo %s: first message from 0x%x, %u bytes", ept->name, src, len);
    }
    if (r != RPMSG_OK) {
        log_printf("echo %s: reply to 0x%x failed (%u)", ept->name, src, (uint32_t)-r);
    }
    return RPMSG_RX_DONE;
}

/* Bounded burst of status re-reads; true as soon as DRIVER_OK shows. */
static int poll_driver_ok(void)
{
    for (uint32_t i = 0; i < DRIVER_OK_POLL_READS; i++) {
        if (rpmsg_driver_ok()) {
            return 1;
        }
    }
    return 0;
}

int main(void)
{
    platform_init();

    ept_raw.name = "rpmsg-raw";
    ept_raw.addr = EPT_RAW_ADDR;
    ept_raw.cb = echo_cb;
    ept_tty.name = "rpmsg-tty";
    ept_tty.addr = EPT_TTY_ADDR;
    ept_tty.cb = echo_cb;

    rpmsg_init(&rpdev);
    (void)rpmsg_add_ept(&rpdev, &ept_raw);
    (void)rpmsg_add_ept(&rpdev, &ept_tty);

    log_printf("m0_rpmsg up: rsc table 0x%x, crash word 0x%x, waiting for DRIVER_OK",
               (uint32_t)(uintptr_t)&m0_resource_table,
               (uint32_t)(uintptr_t)&m0_crash_word);

    for (;;) {
        const int link = rpmsg_link_poll(&rpdev);

        if (link == RPMSG_LINK_WAIT) {
            if (poll_driver_ok()) {
                continue;
            }
        } else if (link == RPMSG_LINK_UP) {
            rpmsg_service(&rpdev);
        }
        /* Sleep until Linux's next SEV (returns at once if one came in
         * since the last wake-up). */
        platform_wait_event();
    }
}

/*
 * rpmsg.c - RPMsg headers, endpoints and the name service (see rpmsg.h).
 */
#include "rpmsg.h"

#include "platform.h"
#include "rsc_table.h"
#include "trace.h"

/*
 * Copy a payload the way a C library's memcpy would: 16 bytes per step while
 * both sides are word-aligned (RPMsg buffers are: a 16-byte header in a
 * 512-byte slot), bytes otherwise. A byte loop made the echo spend ~2,500 of
 * its ~3,000 cycles copying 496 bytes, which no real firmware does.
 */
static void copy_bytes(uint8_t *dst, const uint8_t *src, uint32_t n)
{
    if ((((uintptr_t)dst | (uintptr_t)src) & 3u) == 0u) {
        uint32_t *d = (uint32_t *)dst;
        const uint32_t *s = (const uint32_t *)src;

        for (; n >= 16u; n -= 16u, d += 4, s += 4) {
            const uint32_t a = s[0], b = s[1], c = s[2], e = s[3];

            d[0] = a;
            d[1] = b;
            d[2] = c;
            d[3] = e;
        }
        for (; n >= 4u; n -= 4u) {
            *d++ = *s++;
        }
        dst = (uint8_t *)d;
        src = (const uint8_t *)s;
    }
    for (uint32_t i = 0; i < n; i++) {
        dst[i] = src[i];
    }
}

void rpmsg_init(struct rpmsg_dev *dev)
{
    uint8_t *p = (uint8_t *)dev;

    for (uint32_t i = 0; i < sizeof(*dev); i++) {
        p[i] = 0u;
    }
    dev->to_host.broken = 1u;
    dev->from_host.broken = 1u;
}

bool rpmsg_add_ept(struct rpmsg_dev *dev, struct rpmsg_ept *ept)
{
    if (dev->n_epts >= RPMSG_MAX_EPTS) {
        return false;
    }
    ept->announced = 0u;
    ept->rx_count = 0u;
    dev->epts[dev->n_epts++] = ept;
    return true;
}

bool rpmsg_driver_ok(void)
{
    return (rsc_vdev_status() & VIRTIO_STATUS_DRIVER_OK) != 0u;
}

int rpmsg_link_poll(struct rpmsg_dev *dev)
{
    const uint8_t status = rsc_vdev_status();

    if ((status & VIRTIO_STATUS_DRIVER_OK) == 0u) {
        if (dev->up || dev->failed) {
            log_printf("vdev status 0x%x: link down", (uint32_t)status);
        }
        dev->up = 0u;
        dev->failed = 0u;
        dev->to_host.broken = 1u;
        dev->from_host.broken = 1u;
        return RPMSG_LINK_WAIT;
    }
    if (dev->up) {
        return RPMSG_LINK_UP;
    }
    if (dev->failed) {
        return RPMSG_LINK_FAILED;
    }

    /* Linux wrote vring[i].da (rp_find_vq) before it set DRIVER_OK. */
    platform_mb();
    const uint32_t da0 = rsc_vring_da(M0_VRING_TO_HOST);
    const uint32_t da1 = rsc_vring_da(M0_VRING_FROM_HOST);

    log_printf("DRIVER_OK: status 0x%x gfeatures 0x%x vring0 0x%x id %u vring1 0x%x id %u",
               (uint32_t)status, rsc_vdev_gfeatures(),
               da0, rsc_vring_notifyid(M0_VRING_TO_HOST),
               da1, rsc_vring_notifyid(M0_VRING_FROM_HOST));

    if (!vq_attach(&dev->to_host, da0, M0_VRING_NUM, M0_VRING_ALIGN, "vring0") ||
        !vq_attach(&dev->from_host, da1, M0_VRING_NUM, M0_VRING_ALIGN, "vring1")) {
        dev->to_host.broken = 1u;
        dev->from_host.broken = 1u;
        dev->failed = 1u;
        return RPMSG_LINK_FAILED;
    }
    for (uint32_t i = 0; i < dev->n_epts; i++) {
        dev->epts[i]->announced = 0u;
    }
    dev->up = 1u;
    dev->stats.link_ups++;
    return RPMSG_LINK_UP;
}

int rpmsg_send(struct rpmsg_dev *dev, uint32_t src, uint32_t dst,
               const void *data, uint32_t len)
{
    struct vq_buf b;

    if (!dev->up) {
        return RPMSG_ERR_DOWN;
    }
    if (len > RPMSG_MAX_PAYLOAD) {
        return RPMSG_ERR_INVAL;
    }
    if (!vq_peek(&dev->to_host, &b)) {
        return RPMSG_ERR_NOBUF;
    }
    if (b.len < RPMSG_HDR_SIZE) {
        /* Not even a header fits: this ring cannot carry messages. */
        log_printf("send: vring0 buffer %u of %u bytes, queue disabled",
                   (uint32_t)b.head, b.len);
        dev->to_host.broken = 1u;
        return RPMSG_ERR_INVAL;
    }
    if (b.len < RPMSG_HDR_SIZE + len) {
        /* Left in the ring: a shorter message may still fit it. */
        log_printf("send 0x%x->0x%x: %u bytes do not fit buffer of %u",
                   src, dst, len, b.len);
        return RPMSG_ERR_INVAL;
    }

    struct rpmsg_hdr *h = (struct rpmsg_hdr *)b.addr;

    h->src = src;
    h->dst = dst;
    h->reserved = 0u;
    h->len = (uint16_t)len;
    h->flags = 0u;
    copy_bytes(h->data, (const uint8_t *)data, len);

    vq_pop(&dev->to_host);
    vq_push_used(&dev->to_host, b.head, RPMSG_HDR_SIZE + len);
    dev->stats.tx_msgs++;
    return RPMSG_OK;
}

static bool announce_pending(struct rpmsg_dev *dev)
{
    for (uint32_t i = 0; i < dev->n_epts; i++) {
        struct rpmsg_ept *ept = dev->epts[i];
        struct rpmsg_ns_msg ns;
        uint32_t k = 0;

        if (ept->announced || ept->name == 0) {
            continue;
        }
        for (; k < RPMSG_NAME_SIZE - 1u && ept->name[k] != '\0'; k++) {
            ns.name[k] = ept->name[k];
        }
        for (; k < RPMSG_NAME_SIZE; k++) {
            ns.name[k] = '\0';
        }
        ns.addr = ept->addr;
        ns.flags = RPMSG_NS_CREATE;

        const int r = rpmsg_send(dev, ept->addr, RPMSG_NS_ADDR, &ns, sizeof(ns));

        if (r == RPMSG_ERR_NOBUF) {
            return false; /* retry after the next kick */
        }
        ept->announced = 1u;
        if (r == RPMSG_OK) {
            log_printf("ns: announced %s at 0x%x", ept->name, ept->addr);
        } else {
            log_printf("ns: announcing %s failed (%u)", ept->name, (uint32_t)-r);
        }
    }
    return true;
}

static struct rpmsg_ept *find_ept(struct rpmsg_dev *dev, uint32_t addr)
{
    for (uint32_t i = 0; i < dev->n_epts; i++) {
        if (dev->epts[i]->addr == addr) {
            return dev->epts[i];
        }
    }
    return 0;
}

static void drop(struct rpmsg_dev *dev, const char *why, uint32_t a, uint32_t b)
{
    /* Rate-limited: the first 8 drops are logged. */
    if (dev->stats.dropped < 8u) {
        log_printf("rx: %s (0x%x 0x%x), dropped", why, a, b);
    }
    dev->stats.dropped++;
}

static void receive_all(struct rpmsg_dev *dev)
{
    struct vq_buf b;

    while (vq_peek(&dev->from_host, &b)) {
        if (b.len < RPMSG_HDR_SIZE) {
            drop(dev, "short buffer", b.head, b.len);
        } else {
            const struct rpmsg_hdr *h = (const struct rpmsg_hdr *)b.addr;
            const uint32_t src = h->src;
            const uint32_t dst = h->dst;
            const uint32_t len = h->len;

            if (len > b.len - RPMSG_HDR_SIZE) {
                drop(dev, "bad length", len, b.len);
            } else {
                struct rpmsg_ept *ept = find_ept(dev, dst);

                if (ept == 0 || ept->cb == 0) {
                    drop(dev, "no endpoint", src, dst);
                } else {
                    if (ept->cb(dev, ept, src, h->data, len) == RPMSG_RX_RETRY) {
                        return; /* leave it queued */
                    }
                    ept->rx_count++;
                }
            }
        }
        vq_pop(&dev->from_host);
        vq_push_used(&dev->from_host, b.head, 0u);
        dev->stats.rx_msgs++;
    }
}

void rpmsg_service(struct rpmsg_dev *dev)
{
    if (!dev->up) {
        return;
    }
    if (announce_pending(dev)) {
        receive_all(dev);
    }

    /* Evaluate both (no short-circuit): each clears its own state. */
    const bool n0 = vq_take_notify(&dev->to_host);
    const bool n1 = vq_take_notify(&dev->from_host);

    if (n0 || n1) {
        platform_notify_host();
        dev->stats.notifies++;
    }
}

/*
 * virtio.c - device side of a legacy split virtqueue (see virtio.h).
 */
#include "virtio.h"

#include "platform.h"
#include "trace.h"

static void vq_break(struct virtqueue *vq, const char *why, uint32_t v)
{
    if (!vq->broken) {
        vq->broken = 1u;
        log_printf("vq %s: %s 0x%x, queue disabled", vq->name, why, v);
    }
}

bool vq_attach(struct virtqueue *vq, uint32_t da, uint32_t num, uint32_t align,
               const char *name)
{
    vq->name = name;
    vq->desc = 0;
    vq->avail = 0;
    vq->used = 0;
    vq->num = 0u;
    vq->last_avail = 0u;
    vq->used_idx = 0u;
    vq->published = 0u;
    vq->broken = 1u;

    if (da == 0u || da == 0xFFFFFFFFu || (da & 3u) != 0u) {
        log_printf("vq %s: bad da 0x%x", name, da);
        return false;
    }
    if (num == 0u || num > 32768u || (num & (num - 1u)) != 0u ||
        align < 4u || (align & (align - 1u)) != 0u) {
        log_printf("vq %s: bad num %u / align %u", name, num, align);
        return false;
    }

    vq->desc = (volatile struct vring_desc *)(uintptr_t)da;
    vq->avail = (volatile struct vring_avail *)(uintptr_t)(da + 16u * num);
    /* As vring_init(): the used ring starts at the first align boundary
     * (of the address, not of the offset) after avail->used_event. */
    vq->used = (volatile struct vring_used *)(uintptr_t)
        ((da + 16u * num + 2u * (3u + num) + (align - 1u)) & ~(align - 1u));
    vq->num = (uint16_t)num;
    /* A fresh ring (Linux zeroes it in rp_find_vq before DRIVER_OK):
     * both indices start at 0, as after a virtio device reset. */
    vq->used_idx = 0u;
    vq->last_avail = 0u;
    vq->broken = 0u;
    return true;
}

bool vq_peek(struct virtqueue *vq, struct vq_buf *buf)
{
    if (vq->broken) {
        return false;
    }

    const uint16_t avail_idx = vq->avail->idx;
    const uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);

    if (pending == 0u) {
        return false;
    }
    if (pending > vq->num) {
        vq_break(vq, "avail idx jumped to", avail_idx);
        return false;
    }
    /* Read the ring entry only after the index that published it. */
    platform_mb();

    const uint16_t head = vq->avail->ring[vq->last_avail & (uint16_t)(vq->num - 1u)];

    if (head >= vq->num) {
        vq_break(vq, "bad head", head);
        return false;
    }

    volatile struct vring_desc *d = &vq->desc[head];
    const uint32_t lo = d->addr_lo;
    const uint32_t hi = d->addr_hi;

    if (hi != 0u || lo == 0u || (lo & 3u) != 0u) {
        vq_break(vq, "bad buffer address", lo);
        return false;
    }
    buf->addr = (uint8_t *)(uintptr_t)lo;
    buf->len = d->len;
    buf->head = head;
    buf->flags = d->flags;
    return true;
}

void vq_pop(struct virtqueue *vq)
{
    vq->last_avail++;
}

void vq_push_used(struct virtqueue *vq, uint16_t head, uint32_t len)
{
    volatile struct vring_used_elem *e =
        &vq->used->ring[vq->used_idx & (uint16_t)(vq->num - 1u)];

    e->id = head;
    e->len = len;
    vq->used_idx++;
    /* The element (and the buffer contents written before) must be
     * visible before the index that publishes it. */
    platform_mb();
    vq->used->idx = vq->used_idx;
    vq->published = 1u;
}

bool vq_take_notify(struct virtqueue *vq)
{
    if (!vq->published) {
        return false;
    }
    vq->published = 0u;
    /* Our used->idx store must precede the flags read (pairs with the
     * driver's "clear NO_INTERRUPT; mb; re-check used->idx"). */
    platform_mb();
    return (vq->avail->flags & VRING_AVAIL_F_NO_INTERRUPT) == 0u;
}

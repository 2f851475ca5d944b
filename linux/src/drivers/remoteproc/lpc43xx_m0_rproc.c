// SPDX-License-Identifier: GPL-2.0
/*
 * Remote processor driver for the Cortex-M0 coprocessor (M0APP) of NXP LPC43xx.
 *
 * The M4 running Linux controls the M0 the way the LPC43xx user manual describes:
 * its branch clock (CCU1 CLK_CPU_M0APP) runs while it is started, it is held in
 * reset through the RGU (reset #56), it boots from the address
 * CREG M0APPMEMMAP maps at 0 in its memory map, and the two cores interrupt each
 * other with SEV: the M4's SEV raises the M0's "M4CORE" IRQ, the M0's SEV raises
 * the M4's "M0APP" IRQ (1), which stays asserted until CREG M0TXEVENT is written 0.
 *
 * The M0's firmware is an ELF with a resource table; its code runs from the memory
 * region in "reg" (SRAM1 on the LPC4337), which is registered as a carveout with
 * device address == physical address (no IOMMU, no MMU). Vrings and RPMsg buffers
 * come from ordinary kernel memory, which the M0 reads at the same physical
 * addresses: the ARMv7-M core has no data cache, so DMA is coherent.
 *
 * Written for amp-bench (an emulated LPC4337); nothing in it is emulator-specific.
 */

#include <linux/clk.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/mfd/syscon.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/platform_device.h>
#include <linux/regmap.h>
#include <linux/remoteproc.h>
#include <linux/reset.h>

#include "remoteproc_internal.h"

#define LPC43XX_CREG_M0TXEVENT		0x400
#define LPC43XX_CREG_M0APPMEMMAP	0x404
#define LPC43XX_M0APPMEMMAP_ALIGN	0x1000

/* Vendor resource in the M0's resource table: a word the M0 sets when it crashes. */
#define RSC_LPC43XX_CRASH_WORD		(RSC_VENDOR_START + 0)
#define LPC43XX_CRASH_MAGIC		0xDEADC0DE

struct lpc43xx_m0_rsc_crash {
	u32 word;
} __packed;

struct lpc43xx_m0 {
	struct rproc *rproc;
	struct regmap *creg;
	struct reset_control *reset;
	struct clk *clk;	/* the M0APP branch clock (CCU1 CLK_CPU_M0APP), optional */
	phys_addr_t mem_pa;
	size_t mem_size;
	int crash_offset;	/* of the crash word in the resource table, -1 if absent */
	u32 *crash_word;	/* in the loaded table while the M0 runs */
};

static int lpc43xx_m0_mem_alloc(struct rproc *rproc, struct rproc_mem_entry *mem)
{
	mem->va = (__force void *)ioremap(mem->dma, mem->len);
	return mem->va ? 0 : -ENOMEM;
}

static int lpc43xx_m0_mem_release(struct rproc *rproc, struct rproc_mem_entry *mem)
{
	iounmap((__force void __iomem *)mem->va);
	return 0;
}

static int lpc43xx_m0_prepare(struct rproc *rproc)
{
	struct lpc43xx_m0 *m0 = rproc->priv;
	struct rproc_mem_entry *mem;

	mem = rproc_mem_entry_init(rproc->dev.parent, NULL, m0->mem_pa, m0->mem_size,
				   m0->mem_pa, lpc43xx_m0_mem_alloc,
				   lpc43xx_m0_mem_release, "m0-code");
	if (!mem)
		return -ENOMEM;
	rproc_add_carveout(rproc, mem);
	return 0;
}

static int lpc43xx_m0_handle_rsc(struct rproc *rproc, u32 rsc_type, void *rsc,
				 int offset, int avail)
{
	struct lpc43xx_m0 *m0 = rproc->priv;
	struct lpc43xx_m0_rsc_crash *crash = rsc;

	if (rsc_type != RSC_LPC43XX_CRASH_WORD)
		return RSC_IGNORED;
	if (avail < sizeof(*crash))
		return -EINVAL;
	/* rsc is in the cached copy of the table; the M0 writes the loaded one. */
	m0->crash_offset = offset;
	return RSC_HANDLED;
}

static int lpc43xx_m0_start(struct rproc *rproc)
{
	struct lpc43xx_m0 *m0 = rproc->priv;
	u32 boot = rproc->bootaddr & ~(LPC43XX_M0APPMEMMAP_ALIGN - 1);
	int ret;

	if (boot < m0->mem_pa || boot >= m0->mem_pa + m0->mem_size) {
		dev_err(&rproc->dev, "boot address 0x%x is outside the M0 memory\n", boot);
		return -EINVAL;
	}
	m0->crash_word = NULL;
	if (m0->crash_offset >= 0 && rproc->table_ptr) {
		m0->crash_word = (u32 *)((u8 *)rproc->table_ptr + m0->crash_offset);
		writel(0, m0->crash_word);
	}
	ret = clk_prepare_enable(m0->clk);
	if (ret)
		return ret;
	ret = reset_control_assert(m0->reset);
	if (ret)
		goto off;
	regmap_write(m0->creg, LPC43XX_CREG_M0APPMEMMAP, boot);
	ret = reset_control_deassert(m0->reset);
	if (!ret)
		return 0;
off:
	clk_disable_unprepare(m0->clk);
	return ret;
}

static int lpc43xx_m0_stop(struct rproc *rproc)
{
	struct lpc43xx_m0 *m0 = rproc->priv;
	int ret;

	m0->crash_word = NULL;
	ret = reset_control_assert(m0->reset);
	clk_disable_unprepare(m0->clk);
	return ret;
}

static void lpc43xx_m0_kick(struct rproc *rproc, int vqid)
{
	/* Publish the vring update, then raise the M0's M4CORE interrupt. */
	dsb(ishst);
	sev();
}

static irqreturn_t lpc43xx_m0_irq(int irq, void *data)
{
	struct lpc43xx_m0 *m0 = data;

	regmap_write(m0->creg, LPC43XX_CREG_M0TXEVENT, 0);
	return IRQ_WAKE_THREAD;
}

static irqreturn_t lpc43xx_m0_irq_thread(int irq, void *data)
{
	struct lpc43xx_m0 *m0 = data;
	struct rproc *rproc = m0->rproc;
	int id;

	if (m0->crash_word && readl(m0->crash_word) == LPC43XX_CRASH_MAGIC) {
		writel(0, m0->crash_word);
		rproc_report_crash(rproc, RPROC_FATAL_ERROR);
		return IRQ_HANDLED;
	}
	for (id = 0; id <= rproc->max_notifyid; id++)
		rproc_vq_interrupt(rproc, id);
	return IRQ_HANDLED;
}

static const struct rproc_ops lpc43xx_m0_ops = {
	.prepare	= lpc43xx_m0_prepare,
	.start		= lpc43xx_m0_start,
	.stop		= lpc43xx_m0_stop,
	.kick		= lpc43xx_m0_kick,
	.handle_rsc	= lpc43xx_m0_handle_rsc,
	.load		= rproc_elf_load_segments,
	.parse_fw	= rproc_elf_load_rsc_table,
	.find_loaded_rsc_table = rproc_elf_find_loaded_rsc_table,
	.sanity_check	= rproc_elf_sanity_check,
	.get_boot_addr	= rproc_elf_get_boot_addr,
};

static int lpc43xx_m0_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	const char *firmware = NULL;
	struct lpc43xx_m0 *m0;
	struct rproc *rproc;
	struct resource *res;
	int irq, ret;

	of_property_read_string(dev->of_node, "firmware-name", &firmware);
	rproc = devm_rproc_alloc(dev, dev_name(dev), &lpc43xx_m0_ops, firmware, sizeof(*m0));
	if (!rproc)
		return -ENOMEM;
	rproc->auto_boot = false;
	m0 = rproc->priv;
	m0->rproc = rproc;
	m0->crash_offset = -1;

	res = platform_get_resource(pdev, IORESOURCE_MEM, 0);
	if (!res)
		return dev_err_probe(dev, -EINVAL, "no memory region for the M0\n");
	m0->mem_pa = res->start;
	m0->mem_size = resource_size(res);

	m0->creg = syscon_regmap_lookup_by_phandle(dev->of_node, "nxp,creg");
	if (IS_ERR(m0->creg))
		return dev_err_probe(dev, PTR_ERR(m0->creg), "no CREG syscon\n");
	m0->reset = devm_reset_control_get_exclusive(dev, NULL);
	if (IS_ERR(m0->reset))
		return dev_err_probe(dev, PTR_ERR(m0->reset), "no M0 reset\n");
	m0->clk = devm_clk_get_optional(dev, NULL);
	if (IS_ERR(m0->clk))
		return dev_err_probe(dev, PTR_ERR(m0->clk), "no M0 clock\n");

	irq = platform_get_irq(pdev, 0);
	if (irq < 0)
		return irq;
	ret = devm_request_threaded_irq(dev, irq, lpc43xx_m0_irq, lpc43xx_m0_irq_thread,
					IRQF_ONESHOT, dev_name(dev), m0);
	if (ret)
		return dev_err_probe(dev, ret, "cannot request the M0APP interrupt\n");

	/* Keep the M0 in reset until remoteproc starts it. */
	reset_control_assert(m0->reset);
	platform_set_drvdata(pdev, rproc);
	return devm_rproc_add(dev, rproc);
}

static const struct of_device_id lpc43xx_m0_of_match[] = {
	{ .compatible = "nxp,lpc4337-m0" },
	{ },
};
MODULE_DEVICE_TABLE(of, lpc43xx_m0_of_match);

static struct platform_driver lpc43xx_m0_driver = {
	.probe = lpc43xx_m0_probe,
	.driver = {
		.name = "lpc43xx-m0-rproc",
		.of_match_table = lpc43xx_m0_of_match,
	},
};
module_platform_driver(lpc43xx_m0_driver);

MODULE_DESCRIPTION("NXP LPC43xx Cortex-M0 remote processor driver");
MODULE_LICENSE("GPL v2");

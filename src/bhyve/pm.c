/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ACPI fixed hardware (ACPI 6.5, 4.8), as bhyve's amd64/pm.c has it, and
 * the chipset's reset control register:
 *
 *   0x400  PM1a_STS (16 bits): write 1 to clear (4.8.3.1.1)
 *   0x402  PM1a_EN  (16 bits) (4.8.3.1.2)
 *   0x404  PM1a_CNT (16 bits): SCI_EN, SLP_TYPx, SLP_EN (4.8.3.2.1)
 *   0x0b2  SMI_CMD: ACPI_ENABLE sets SCI_EN, ACPI_DISABLE clears it
 *          (the firmware's side of the ACPI mode switch, 16.3.1)
 *   0xcf9  reset control: bit 2 going from 0 to 1 resets (ICH10
 *          datasheet, "Reset Control Register"); the FADT's RESET_REG
 *
 * The SCI is ISA IRQ 9, level-triggered (the MADT says so): it is raised
 * while SCI_EN is set and some status bit has its enable bit set
 * (4.8.3.1).  The only event source is the power button (a fixed-feature
 * button, 4.8.2.2.1.1); PM1_STS.TMR_STS is never set, since the vmm's PM
 * timer does not report carries.  SLP_EN with SLP_TYP 5 (the DSDT's _S5)
 * powers the VM off (exit status 1); a reset ends it with status 0.
 *
 * Accesses of 1, 2 or 4 bytes anywhere in a block are taken byte lane by
 * byte lane, so a byte write to the high half of PM1a_CNT works as on
 * hardware.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "acpi.h"
#include "iomem.h"
#include "pci_emul.h"

/* 4.8.3.1.1, table 4.11: PM1 status bits (all write-1-to-clear). */
#define PM1_TMR_STS 0x0001
#define PM1_BM_STS 0x0010
#define PM1_GBL_STS 0x0020
#define PM1_PWRBTN_STS 0x0100
#define PM1_SLPBTN_STS 0x0200
#define PM1_RTC_STS 0x0400
#define PM1_PCIEXP_WAKE_STS 0x4000
#define PM1_WAK_STS 0x8000
#define PM1_STS_W1C (PM1_TMR_STS | PM1_BM_STS | PM1_GBL_STS | \
	PM1_PWRBTN_STS | PM1_SLPBTN_STS | PM1_RTC_STS | PM1_PCIEXP_WAKE_STS | \
	PM1_WAK_STS)

/* 4.8.3.1.2, table 4.12: enable bits sit where their status bits do. */
#define PM1_PCIEXP_WAKE_DIS 0x4000
#define PM1_EVENTS (PM1_TMR_STS | PM1_GBL_STS | PM1_PWRBTN_STS | \
	PM1_SLPBTN_STS | PM1_RTC_STS)
#define PM1_EN_MASK (PM1_EVENTS | PM1_PCIEXP_WAKE_DIS)

/* 4.8.3.2.1, table 4.13: PM1 control. */
#define PM1_SCI_EN 0x0001
#define PM1_BM_RLD 0x0002
#define PM1_SLP_TYP 0x1c00
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN 0x2000
/* What OSPM can set and read back; GBL_RLS and SLP_EN read as zero. */
#define PM1_CNT_RW (PM1_BM_RLD | PM1_SLP_TYP)

#define PM_RESET_CPU 0x04
#define PM_RESET_MASK 0x0e /* SYS_RST, RST_CPU, FULL_RST */

struct pm_softc {
	struct bhyve_vm *bvm;
	pthread_mutex_t lock; /* everything below */
	uint16_t sts;
	uint16_t en;
	uint16_t cnt;
	uint8_t reset_ctl;
	bool sci; /* IRQ 9 held high */
	bool evt_reg, cnt_reg, smi_reg;
	bool reset_ports; /* 0xcf9 on bvm->ports */
	bool reset_pci;	  /* 0xcf9 through the PCI framework */
};

/* The byte lanes an access of 'size' at 'offset' covers. */
static uint32_t
pm_lanes(uint64_t offset, int size)
{
	uint32_t m = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

	return offset >= 4 ? 0 : m << (8 * offset);
}

static void
pm_sci_update(struct pm_softc *sc)
{
	bool want = (sc->cnt & PM1_SCI_EN) &&
	    (sc->sts & sc->en & PM1_EVENTS) != 0;

	if (want == sc->sci)
		return;
	sc->sci = want;
	if (want)
		(void)vm_isa_assert_irq(sc->bvm->ctx, ACPI_SCI_IRQ,
		    ACPI_SCI_IRQ);
	else
		(void)vm_isa_deassert_irq(sc->bvm->ctx, ACPI_SCI_IRQ,
		    ACPI_SCI_IRQ);
}

/* PM1a_EVT_BLK: status in bytes 0-1, enable in bytes 2-3. */
static int
pm_evt_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pm_softc *sc = arg;
	uint32_t lanes = pm_lanes(offset, size);
	uint32_t v = (uint32_t)(*val << (8 * offset)) & lanes;

	pthread_mutex_lock(&sc->lock);
	if (!write) {
		uint32_t reg = (uint32_t)sc->en << 16 | sc->sts;

		*val = (reg & lanes) >> (8 * offset);
	} else {
		uint16_t en_lanes = (uint16_t)(lanes >> 16);

		sc->sts &= (uint16_t)~(v & PM1_STS_W1C);
		sc->en = (uint16_t)((sc->en & ~en_lanes) |
		    ((v >> 16) & PM1_EN_MASK));
		pm_sci_update(sc);
	}
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

/*
 * 7.4.2: SLP_EN with the _S5 value of SLP_TYP is soft-off.  The exit is
 * requested after the lock is dropped (here and for a reset): stopping
 * the vCPUs must not wait on one that waits for this lock.
 */
static int
pm_cnt_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pm_softc *sc = arg;
	uint32_t lanes = pm_lanes(offset, size) & 0xffff;
	uint32_t v = (uint32_t)(*val << (8 * offset)) & lanes;
	bool off = false;

	pthread_mutex_lock(&sc->lock);
	if (!write) {
		*val = (sc->cnt & lanes) >> (8 * offset);
	} else {
		uint32_t merged = (sc->cnt & ~lanes) | v;

		/* SCI_EN belongs to the firmware side (4.8.3.2.1). */
		sc->cnt = (uint16_t)((sc->cnt & PM1_SCI_EN) |
		    (merged & PM1_CNT_RW));
		off = (v & PM1_SLP_EN) && ((sc->cnt & PM1_SLP_TYP) >>
		    PM1_SLP_TYP_SHIFT) == ACPI_SLP_TYP_S5;
	}
	pthread_mutex_unlock(&sc->lock);
	if (off)
		bhyve_request_exit(sc->bvm, BHYVE_EXIT_POWEROFF);
	return 0;
}

/* Write-only on hardware; reads return 0 here. */
static int
pm_smi_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pm_softc *sc = arg;

	if (!write) {
		*val = 0;
		return 0;
	}
	pthread_mutex_lock(&sc->lock);
	if ((uint8_t)*val == ACPI_ENABLE_VALUE)
		sc->cnt |= PM1_SCI_EN;
	else if ((uint8_t)*val == ACPI_DISABLE_VALUE)
		sc->cnt &= (uint16_t)~PM1_SCI_EN;
	pm_sci_update(sc);
	pthread_mutex_unlock(&sc->lock);
	return 0;
}

static int
pm_reset_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pm_softc *sc = arg;
	bool reset;

	pthread_mutex_lock(&sc->lock);
	if (!write) {
		*val = sc->reset_ctl;
		pthread_mutex_unlock(&sc->lock);
		return 0;
	}
	reset = !(sc->reset_ctl & PM_RESET_CPU) && (*val & PM_RESET_CPU);
	sc->reset_ctl = (uint8_t)(*val & PM_RESET_MASK);
	pthread_mutex_unlock(&sc->lock);
	if (reset)
		bhyve_request_exit(sc->bvm, BHYVE_EXIT_RESET);
	return 0;
}

static struct pm_softc *
pm_find(struct bhyve_vm *bvm)
{
	for (struct bhyve_dev_inst *d = bvm->devs; d != NULL; d = d->next)
		if (d->dev == &pm_device)
			return d->softc;
	return NULL;
}

void
pm_power_button(struct bhyve_vm *bvm)
{
	struct pm_softc *sc = pm_find(bvm);
	bool acpi;

	if (sc == NULL) {
		bhyve_request_exit(bvm, BHYVE_EXIT_POWEROFF);
		return;
	}
	pthread_mutex_lock(&sc->lock);
	acpi = (sc->cnt & PM1_SCI_EN) != 0;
	if (acpi) {
		sc->sts |= PM1_PWRBTN_STS;
		pm_sci_update(sc);
	}
	pthread_mutex_unlock(&sc->lock);
	if (!acpi)
		bhyve_request_exit(bvm, BHYVE_EXIT_POWEROFF);
}

int
pm_reset_attach(struct bhyve_vm *bvm)
{
	struct pm_softc *sc = pm_find(bvm);
	struct io_region r = { .name = "reset-control",
		.base = ACPI_RESET_PORT, .size = 1, .handler = pm_reset_io,
		.arg = sc };
	int error;

	if (sc == NULL)
		return bhyve_error(bvm, "pm: the pm device is not there");
	if (bvm->pci != NULL) {
		error = pci_conf1_register(bvm, &r);
		sc->reset_pci = error == 0;
	} else {
		error = io_register(bvm->ports, &r);
		sc->reset_ports = error == 0;
	}
	if (error)
		return bhyve_error(bvm, "pm: port 0x%x is taken",
		    ACPI_RESET_PORT);
	return 0;
}

static int
pm_register(struct pm_softc *sc, const char *name, uint16_t port,
    uint16_t len, io_handler_t *fn, bool *done)
{
	struct io_region r = { .name = name, .base = port, .size = len,
		.handler = fn, .arg = sc };

	if (io_register(sc->bvm->ports, &r) != 0)
		return bhyve_error(sc->bvm, "pm: ports 0x%x-0x%x are taken",
		    port, port + len - 1);
	*done = true;
	return 0;
}

static void
pm_destroy(void *softc)
{
	struct pm_softc *sc = softc;
	struct bhyve_vm *bvm = sc->bvm;

	/* Unregistering waits for a vCPU still in one of the handlers. */
	if (sc->evt_reg)
		(void)io_unregister(bvm->ports, ACPI_PM1A_EVT_PORT);
	if (sc->cnt_reg)
		(void)io_unregister(bvm->ports, ACPI_PM1A_CNT_PORT);
	if (sc->smi_reg)
		(void)io_unregister(bvm->ports, ACPI_SMI_CMD_PORT);
	if (sc->reset_ports)
		(void)io_unregister(bvm->ports, ACPI_RESET_PORT);
	if (sc->reset_pci && bvm->pci != NULL)
		(void)pci_conf1_unregister(bvm, ACPI_RESET_PORT);
	if (sc->sci)
		(void)vm_isa_deassert_irq(bvm->ctx, ACPI_SCI_IRQ, ACPI_SCI_IRQ);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

static int
pm_init(struct bhyve_vm *bvm, void **softc)
{
	struct pm_softc *sc = calloc(1, sizeof(*sc));

	if (sc == NULL)
		return bhyve_error(bvm, "pm: out of memory");
	sc->bvm = bvm;
	pthread_mutex_init(&sc->lock, NULL);
	/* Level, as the MADT's override says, and as firmware would set it. */
	(void)vm_isa_set_irq_trigger(bvm->ctx, ACPI_SCI_IRQ, true);
	if (pm_register(sc, "pm1a-evt", ACPI_PM1A_EVT_PORT, ACPI_PM1_EVT_LEN,
	    pm_evt_io, &sc->evt_reg) != 0 ||
	    pm_register(sc, "pm1a-cnt", ACPI_PM1A_CNT_PORT, ACPI_PM1_CNT_LEN,
	    pm_cnt_io, &sc->cnt_reg) != 0 ||
	    pm_register(sc, "smi-cmd", ACPI_SMI_CMD_PORT, 1, pm_smi_io,
	    &sc->smi_reg) != 0) {
		pm_destroy(sc);
		return -1;
	}
	*softc = sc;
	return 0;
}

const struct bhyve_device pm_device = {
	.name = "pm",
	.help = "ACPI PM1 registers, SMI_CMD, SCI, reset control (always on)",
	.enabled = NULL,
	.init = pm_init,
	.destroy = pm_destroy,
};

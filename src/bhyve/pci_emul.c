/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PCI emulation framework (see pci_emul.h for the model and locking).
 *
 * Config space is a byte array per function with two masks beside it:
 * the bits the guest may write and the bits it clears by writing 1
 * (status errors).  Every guest write goes through the masks, so read-only
 * fields stay read-only without per-register code, and BAR sizing falls
 * out of the BAR's mask (~(size - 1) above the type bits): writing all
 * ones reads back the size mask with the type bits, as PCI 3.0 6.2.5.1
 * describes.  After a write the framework looks at what changed: the
 * command register and BARs (decoding), the MSI and MSI-X capabilities.
 *
 * The guest-physical map below 4 GiB, as bhyve's:
 *   [0, lowmem)              RAM
 *   [lowmem, 0xe0000000)     32-bit BAR window
 *   [0xe0000000, 0xf0000000) ECAM
 *   [0xf0000000, 4 GiB)      LAPIC, I/O APIC, HPET, firmware
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "iomem.h"
#include "pci_emul.h"

#define PCI_CAP_START 0x40
#define PCI_BAR_REGS_LEN (4 * (PCI_BARMAX + 1))

#define CONF1_ENABLE 0x80000000u
/*
 * The bits of CONFIG_ADDRESS that hold state: enable, bus, device,
 * function, register.  Bits 30:24 are reserved and 1:0 are always 0
 * (PCI 3.0, 3.2.2.3.2), so they read back as 0.
 */
#define CONF1_ADDR_MASK 0x80fffffcu

/* Room left after each bus's BARs, for the guest to move them (bhyve). */
#define BUSIO_ROUNDUP 32ULL
#define BUSMEM32_ROUNDUP (1ULL << 20)
#define BUSMEM64_ROUNDUP (512ULL << 20)
/* A 64-bit BAR this small still goes below 4 GiB (bhyve). */
#define MEM64_HIGH_MIN (128ULL << 20)

/*
 * ISA IRQs the initial PIRQ routing never hands out: COM1-COM4 (4 and 3)
 * and the PS/2 mouse (12), as bhyve's LPC and atkbdc reserve them; the
 * SCI (9) may be shared but is used last.
 */
#define PCI_ISA_RESERVED ((1u << 3) | (1u << 4) | (1u << 12))
#define PCI_SCI_IRQ 9

#define MSIX_CAP_LEN 12
#define MSI_CAP_MAXLEN 24
#define PCIE_CAP_LEN 0x3c

_Static_assert(sizeof(struct msix_table_entry) == MSIX_TABLE_ENTRY_SIZE,
    "an MSI-X table entry is 16 bytes");

/* A function's config node, found before any device is created. */
struct pci_func_cfg {
	struct config_node *node;
	char path[32];
};

struct pci_bus {
	bool configured;
	struct pci_windows win;
	struct pci_func_cfg cfg[PCI_NSLOTS][PCI_NFUNCS];
	struct pci_devinst *funcs[PCI_NSLOTS][PCI_NFUNCS];
	int intpins[PCI_NSLOTS][4]; /* functions using each INTx pin */
};

/* A BAR waiting for an address (they are placed largest first). */
struct pci_bar_req {
	struct pci_devinst *pi;
	int idx;
	int seq;
};

struct pci_sys {
	struct bhyve_vm *bvm;
	pthread_mutex_t cfg_lock;	/* config cycles, BAR decoding */
	uint32_t conf1_addr;		/* CONFIG_ADDRESS */
	struct io_registry *conf1_pass; /* other users of 0xcf8-0xcfb */
	bool conf1_addr_reg, conf1_data_reg, ecam_reg;
	struct pci_bus *buses[PCI_NBUSES];
	struct pci_irq *irq;
	struct pci_devinst *lpc;
	const struct pci_devemu *const *extra;
	int nextra;
	const char *host_sysfs;
	bool enable_bars;
	struct pci_windows win;
	uint64_t next_io, next_mem32, next_mem64; /* allocation cursors */
	struct pci_bar_req *reqs;
	int nreqs, capreqs, seq;
};

/* Every emulation, by name.  The virtio devices join here. */
static const struct pci_devemu *const pci_devemus[] = {
	&pci_de_hostbridge,
	&pci_de_lpc,
	&pci_de_virtio_rnd,
	&pci_de_virtio_blk,
	&pci_de_virtio_net,
	&pci_de_virtio_console,
};

/* bhyve's other emulations: known names, not written yet. */
static const char *const pci_devemus_pending[] = {
	"passthru", "virtio-scsi", "virtio-9p",
	"virtio-input", "ahci", "e1000",
	"uart", "fbuf", "xhci", "nvme", "hda",
};

/* Command-line spellings that the config tree must not carry. */
static const char *const pci_devemus_legacy[][2] = {
	{ "amd_hostbridge", "hostbridge" },
	{ "ahci-cd", "ahci" },
	{ "ahci-hd", "ahci" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t
roundup_pow2(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

int
pci_emul_error(struct pci_devinst *pi, const char *fmt, ...)
{
	char msg[BHYVE_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return bhyve_error(pi->pi_bvm, "pci slot %d:%d:%d %s: %s", pi->pi_bus,
	    pi->pi_slot, pi->pi_func, pi->pi_d->pe_emu, msg);
}

/* ---- Config space accessors ---- */

static bool
cfg_in_range(int off, int len)
{
	return off >= 0 && off <= PCI_CFG_SIZE - len;
}

static uint32_t
cfg_get(struct pci_devinst *pi, int off, int len)
{
	uint32_t v = 0;

	if (!cfg_in_range(off, len))
		return 0xffffffff;
	for (int i = len - 1; i >= 0; i--)
		v = (v << 8) | pi->pi_cfgdata[off + i];
	return v;
}

static void
cfg_set(struct pci_devinst *pi, int off, int len, uint32_t v)
{
	if (!cfg_in_range(off, len))
		return;
	for (int i = 0; i < len; i++)
		pi->pi_cfgdata[off + i] = (uint8_t)(v >> (8 * i));
}

uint8_t
pci_get_cfgdata8(struct pci_devinst *pi, int off)
{
	return (uint8_t)cfg_get(pi, off, 1);
}

uint16_t
pci_get_cfgdata16(struct pci_devinst *pi, int off)
{
	return (uint16_t)cfg_get(pi, off, 2);
}

uint32_t
pci_get_cfgdata32(struct pci_devinst *pi, int off)
{
	return cfg_get(pi, off, 4);
}

void
pci_set_cfgdata8(struct pci_devinst *pi, int off, uint8_t val)
{
	cfg_set(pi, off, 1, val);
}

void
pci_set_cfgdata16(struct pci_devinst *pi, int off, uint16_t val)
{
	cfg_set(pi, off, 2, val);
}

void
pci_set_cfgdata32(struct pci_devinst *pi, int off, uint32_t val)
{
	cfg_set(pi, off, 4, val);
}

void
pci_set_cfgwritable(struct pci_devinst *pi, int off, int len, uint8_t mask)
{
	if (len > 0 && cfg_in_range(off, len))
		memset(&pi->pi_wmask[off], mask, (size_t)len);
}

static void
wmask_set32(struct pci_devinst *pi, int off, uint32_t mask)
{
	for (int i = 0; i < 4; i++)
		pi->pi_wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

/*
 * What the guest may write in a type 0 header (PCI 3.0, 6.2): command bits
 * I/O, memory, bus master, parity and SERR# response, INTx disable; the
 * status error bits are write-1-to-clear; cache line size, latency timer
 * and interrupt line are plain storage.  BARs get their masks when placed.
 */
static void
cfg_header_masks(struct pci_devinst *pi)
{
	uint16_t cmd = PCIM_CMD_PORTEN | PCIM_CMD_MEMEN |
	    PCIM_CMD_BUSMASTEREN | PCIM_CMD_PERRESPEN | PCIM_CMD_SERRESPEN |
	    PCIM_CMD_INTxDIS;

	pi->pi_wmask[PCIR_COMMAND] = (uint8_t)cmd;
	pi->pi_wmask[PCIR_COMMAND + 1] = (uint8_t)(cmd >> 8);
	pi->pi_w1cmask[PCIR_STATUS + 1] = 0xf9; /* bits 8, 11-15 */
	pi->pi_wmask[PCIR_CACHELNSZ] = 0xff;
	pi->pi_wmask[PCIR_LATTIMER] = 0xff;
	pi->pi_wmask[PCIR_INTLINE] = 0xff;
}

/* ---- Interrupts: INTx ---- */

static bool
lintr_permitted(struct pci_devinst *pi)
{
	uint16_t cmd = pci_get_cfgdata16(pi, PCIR_COMMAND);

	return pi->pi_lintr.link >= 0 && !pi->pi_msi.enabled &&
	    !pi->pi_msix.enabled && !(cmd & PCIM_CMD_INTxDIS);
}

/* Status bit 3 follows the device's line, masked or not (PCI 3.0 6.2.3). */
static void
lintr_set_state(struct pci_devinst *pi, enum pci_lintr_state st)
{
	uint16_t sts = pci_get_cfgdata16(pi, PCIR_STATUS);

	pi->pi_lintr.state = st;
	if (st == PCI_LINTR_IDLE)
		sts &= (uint16_t)~PCIM_STATUS_INTxSTATE;
	else
		sts |= PCIM_STATUS_INTxSTATE;
	pci_set_cfgdata16(pi, PCIR_STATUS, sts);
}

/* Re-evaluate the mask after the guest changed command, MSI or MSI-X. */
static void
lintr_update(struct pci_devinst *pi)
{
	struct pci_irq *irq = pi->pi_sys->irq;

	if (pi->pi_lintr.state == PCI_LINTR_ASSERTED && !lintr_permitted(pi)) {
		pci_irq_deassert(irq, pi->pi_lintr.link);
		lintr_set_state(pi, PCI_LINTR_PENDING);
	} else if (pi->pi_lintr.state == PCI_LINTR_PENDING &&
	    lintr_permitted(pi)) {
		pci_irq_assert(irq, pi->pi_lintr.link);
		lintr_set_state(pi, PCI_LINTR_ASSERTED);
	}
}

int
pci_lintr_request(struct pci_devinst *pi)
{
	struct pci_bus *bus = pi->pi_sys->buses[pi->pi_bus];
	int *pins = bus->intpins[pi->pi_slot];
	int best = 0;

	if (pi->pi_lintr.pin != 0)
		return -EEXIST;
	for (int pin = 1; pin < 4; pin++)
		if (pins[pin] < pins[best])
			best = pin;
	pins[best]++;
	pi->pi_lintr.pin = best + 1;
	pci_set_cfgdata8(pi, PCIR_INTPIN, (uint8_t)(best + 1));
	return 0;
}

void
pci_lintr_assert(struct pci_devinst *pi)
{
	if (pi->pi_lintr.pin == 0)
		return;
	pthread_mutex_lock(&pi->pi_lock);
	if (pi->pi_lintr.state == PCI_LINTR_IDLE) {
		if (lintr_permitted(pi)) {
			pci_irq_assert(pi->pi_sys->irq, pi->pi_lintr.link);
			lintr_set_state(pi, PCI_LINTR_ASSERTED);
		} else {
			lintr_set_state(pi, PCI_LINTR_PENDING);
		}
	}
	pthread_mutex_unlock(&pi->pi_lock);
}

void
pci_lintr_deassert(struct pci_devinst *pi)
{
	if (pi->pi_lintr.pin == 0)
		return;
	pthread_mutex_lock(&pi->pi_lock);
	if (pi->pi_lintr.state == PCI_LINTR_ASSERTED)
		pci_irq_deassert(pi->pi_sys->irq, pi->pi_lintr.link);
	if (pi->pi_lintr.state != PCI_LINTR_IDLE)
		lintr_set_state(pi, PCI_LINTR_IDLE);
	pthread_mutex_unlock(&pi->pi_lock);
}

/* ---- Interrupts: MSI ---- */

static int
msi_cap_len(const struct pci_msi *m)
{
	return 10 + (m->is64 ? 4 : 0) + (m->maskable ? 10 : 0);
}

/* Mask bits follow the data register (and two reserved bytes). */
static int
msi_mask_off(const struct pci_msi *m)
{
	return m->capoff + (m->is64 ? 0x10 : 0x0c);
}

/*
 * Vector 'index' of 'nmsgs': the function sets the low bits of the data
 * the guest gave it (PCI 3.0, 6.8.3.4).
 */
static void
msi_send(struct pci_devinst *pi, int index)
{
	struct pci_msi *m = &pi->pi_msi;
	uint32_t data = (m->data & ~(uint32_t)(m->nmsgs - 1)) | (uint32_t)index;

	(void)pci_irq_msi(pi->pi_sys->irq, m->addr, data);
}

/* Send what was left pending under a mask the guest has now cleared. */
static void
msi_flush(struct pci_devinst *pi)
{
	struct pci_msi *m = &pi->pi_msi;
	int off = msi_mask_off(m);
	uint32_t mask, pend, go;

	if (!m->enabled || !m->maskable)
		return;
	mask = pci_get_cfgdata32(pi, off);
	pend = pci_get_cfgdata32(pi, off + 4);
	go = pend & ~mask & (uint32_t)((1ULL << m->nmsgs) - 1);
	pci_set_cfgdata32(pi, off + 4, pend & ~go);
	for (int i = 0; i < m->nmsgs; i++)
		if (go & (1u << i))
			msi_send(pi, i);
}

static void
msi_update(struct pci_devinst *pi)
{
	struct pci_msi *m = &pi->pi_msi;
	uint16_t ctrl = pci_get_cfgdata16(pi, m->capoff + 2);
	int mme = (ctrl & PCIM_MSICTRL_MME_MASK) >> 4;

	m->enabled = (ctrl & PCIM_MSICTRL_MSI_ENABLE) != 0;
	/* More than offered is undefined (6.8.1.3): grant what is offered. */
	m->nmsgs = 1 << mme;
	if (m->nmsgs > m->msgnum)
		m->nmsgs = m->msgnum;
	m->addr = pci_get_cfgdata32(pi, m->capoff + 4);
	if (m->is64) {
		m->addr |= (uint64_t)pci_get_cfgdata32(pi, m->capoff + 8) << 32;
		m->data = pci_get_cfgdata16(pi, m->capoff + 12);
	} else {
		m->data = pci_get_cfgdata16(pi, m->capoff + 8);
	}
	msi_flush(pi);
}

int
pci_generate_msi(struct pci_devinst *pi, int index)
{
	struct pci_msi *m = &pi->pi_msi;
	int error = 0;

	pthread_mutex_lock(&pi->pi_lock);
	if (!m->enabled || index < 0 || index >= m->nmsgs) {
		error = -EINVAL;
	} else if (m->maskable &&
	    (pci_get_cfgdata32(pi, msi_mask_off(m)) & (1u << index))) {
		int poff = msi_mask_off(m) + 4;

		pci_set_cfgdata32(pi, poff,
		    pci_get_cfgdata32(pi, poff) | (1u << index));
	} else {
		msi_send(pi, index);
	}
	pthread_mutex_unlock(&pi->pi_lock);
	return error;
}

bool
pci_msi_enabled(struct pci_devinst *pi)
{
	return pi->pi_msi.enabled;
}

int
pci_msi_maxmsgnum(struct pci_devinst *pi)
{
	return pi->pi_msi.enabled ? pi->pi_msi.nmsgs : 0;
}

/* ---- Interrupts: MSI-X ---- */

/* With both enabled, MSI wins (the spec calls it undefined; bhyve). */
static bool
msix_on(struct pci_devinst *pi)
{
	return pi->pi_msix.enabled && !pi->pi_msi.enabled;
}

bool
pci_msix_enabled(struct pci_devinst *pi)
{
	return msix_on(pi);
}

static bool
msix_pending(const struct pci_msix *m, int i)
{
	return (m->pba[i / 64] >> (i % 64)) & 1;
}

static void
msix_set_pending(struct pci_msix *m, int i, bool on)
{
	if (on)
		m->pba[i / 64] |= 1ULL << (i % 64);
	else
		m->pba[i / 64] &= ~(1ULL << (i % 64));
}

static void
msix_send(struct pci_devinst *pi, int i)
{
	struct msix_table_entry *e = &pi->pi_msix.table[i];

	(void)pci_irq_msi(pi->pi_sys->irq, e->addr, e->msg_data);
}

/*
 * An unmasked vector with its pending bit set sends its message and
 * clears the bit (PCI 3.0, 6.8.2.9).
 */
static void
msix_flush(struct pci_devinst *pi)
{
	struct pci_msix *m = &pi->pi_msix;

	if (!msix_on(pi) || m->function_mask)
		return;
	for (int i = 0; i < m->table_count; i++) {
		if (msix_pending(m, i) &&
		    !(m->table[i].vector_control & PCIM_MSIX_VCTRL_MASK)) {
			msix_set_pending(m, i, false);
			msix_send(pi, i);
		}
	}
}

static void
msix_update(struct pci_devinst *pi)
{
	struct pci_msix *m = &pi->pi_msix;
	uint16_t ctrl = pci_get_cfgdata16(pi, m->capoff + 2);

	m->enabled = (ctrl & PCIM_MSIXCTRL_MSIX_ENABLE) != 0;
	m->function_mask = (ctrl & PCIM_MSIXCTRL_FUNCTION_MASK) != 0;
	msix_flush(pi);
}

int
pci_generate_msix(struct pci_devinst *pi, int index)
{
	struct pci_msix *m = &pi->pi_msix;
	int error = 0;

	pthread_mutex_lock(&pi->pi_lock);
	if (!msix_on(pi) || index < 0 || index >= m->table_count)
		error = -EINVAL;
	else if (m->function_mask ||
	    (m->table[index].vector_control & PCIM_MSIX_VCTRL_MASK))
		msix_set_pending(m, index, true);
	else
		msix_send(pi, index);
	pthread_mutex_unlock(&pi->pi_lock);
	return error;
}

static bool
access_aligned(uint64_t off, int size)
{
	return (size == 1 || size == 2 || size == 4 || size == 8) &&
	    (off & (uint64_t)(size - 1)) == 0;
}

/*
 * The table takes aligned dword and qword accesses (PCI 3.0, 6.8.2);
 * reads of other aligned sizes are allowed for debuggers, as in bhyve;
 * anything else reads all ones and writes nothing.
 */
static void
msix_table_rw(struct pci_devinst *pi, bool write, uint64_t off, int size,
    uint64_t *val)
{
	struct pci_msix *m = &pi->pi_msix;
	uint8_t *base = (uint8_t *)m->table;
	int i = (int)(off / MSIX_TABLE_ENTRY_SIZE);
	bool was_masked;

	if (!write) {
		*val = ~0ULL;
		if (access_aligned(off, size)) {
			*val = 0;
			memcpy(val, base + off, (size_t)size);
		}
		return;
	}
	if ((size != 4 && size != 8) || !access_aligned(off, size))
		return;
	was_masked = m->table[i].vector_control & PCIM_MSIX_VCTRL_MASK;
	memcpy(base + off, val, (size_t)size);
	/* Vector control bits 31:1 are reserved: they read as 0. */
	m->table[i].vector_control &= PCIM_MSIX_VCTRL_MASK;
	if (was_masked &&
	    !(m->table[i].vector_control & PCIM_MSIX_VCTRL_MASK))
		msix_flush(pi);
}

static bool
range_holds(uint64_t off, int size, uint64_t base, uint64_t len)
{
	return off >= base && off - base < len &&
	    (uint64_t)size <= len - (off - base);
}

static bool
range_meets(uint64_t off, int size, uint64_t base, uint64_t len)
{
	return off < base + len && base < off + (uint64_t)size;
}

/* An access to BAR 'idx' that belongs to the MSI-X table or PBA. */
static bool
msix_bar_access(struct pci_devinst *pi, int idx, bool write, uint64_t off,
    int size, uint64_t *val)
{
	struct pci_msix *m = &pi->pi_msix;
	uint64_t tlen = (uint64_t)m->table_count * MSIX_TABLE_ENTRY_SIZE;
	bool in_table = idx == m->table_bar &&
	    range_meets(off, size, m->table_offset, tlen);
	bool in_pba = idx == m->pba_bar &&
	    range_meets(off, size, m->pba_offset, m->pba_size);

	if (m->table == NULL || (!in_table && !in_pba))
		return false;
	pthread_mutex_lock(&pi->pi_lock);
	if (in_table && range_holds(off, size, m->table_offset, tlen)) {
		msix_table_rw(pi, write, off - m->table_offset, size, val);
	} else if (!write) {
		/* The PBA is read-only; a straddling access gets ones. */
		*val = ~0ULL;
		if (in_pba && range_holds(off, size, m->pba_offset,
		    m->pba_size) && access_aligned(off - m->pba_offset, size)) {
			*val = 0;
			memcpy(val, (uint8_t *)m->pba + (off - m->pba_offset),
			    (size_t)size);
		}
	}
	pthread_mutex_unlock(&pi->pi_lock);
	return true;
}

/* ---- BARs ---- */

static struct io_registry *
bar_registry(struct pci_devinst *pi, int idx)
{
	return pi->pi_bar[idx].type == PCIBAR_IO ? pi->pi_bvm->ports :
	    pi->pi_bvm->mmio;
}

static int
pci_bar_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pci_bar *b = arg;
	struct pci_devinst *pi = b->pi;
	const struct pci_devemu *pe = pi->pi_d;

	if (msix_bar_access(pi, b->idx, write, offset, size, val))
		return 0;
	if (write) {
		if (pe->pe_barwrite)
			pe->pe_barwrite(pi, b->idx, offset, size, *val);
	} else {
		*val = pe->pe_barread ? pe->pe_barread(pi, b->idx, offset, size)
				      : ~0ULL;
	}
	return 0;
}

/* The address the guest left in BAR 'idx' (the low half of a 64-bit). */
static uint64_t
bar_cfg_addr(struct pci_devinst *pi, int idx)
{
	uint32_t lo = pci_get_cfgdata32(pi, PCIR_BAR(idx));

	switch (pi->pi_bar[idx].type) {
	case PCIBAR_IO:
		return lo & ~0x3u;
	case PCIBAR_MEM32:
		return lo & ~0xfu;
	case PCIBAR_MEM64:
		return (lo & ~0xfu) |
		    ((uint64_t)pci_get_cfgdata32(pi, PCIR_BAR(idx + 1)) << 32);
	default:
		return 0;
	}
}

static void
bar_addrs_from_cfg(struct pci_devinst *pi)
{
	for (int i = 0; i <= PCI_BARMAX; i++)
		pi->pi_bar[i].addr = bar_cfg_addr(pi, i);
}

/*
 * Make BAR 'idx's registration match the command register and the BAR:
 * unregister it from where it was, register it where it is now.  If the
 * registry refuses (the range overlaps another region or lies outside the
 * address space) the BAR stays undecoded: a guest that programs a
 * conflicting BAR loses that BAR, nothing else.
 */
static int
bar_decode(struct pci_devinst *pi, int idx)
{
	struct pci_bar *b = &pi->pi_bar[idx];
	const struct pci_devemu *pe = pi->pi_d;
	uint16_t cmd = pci_get_cfgdata16(pi, PCIR_COMMAND);
	uint16_t en = b->type == PCIBAR_IO ? PCIM_CMD_PORTEN : PCIM_CMD_MEMEN;
	bool want = (cmd & en) != 0;
	struct io_region r = { .name = pi->pi_name, .base = b->addr,
		.size = b->size, .handler = pci_bar_io, .arg = b };
	int error;

	if (b->decoded && (!want || b->decoded_addr != b->addr)) {
		(void)io_unregister(bar_registry(pi, idx), b->decoded_addr);
		b->decoded = false;
		if (pe->pe_baraddr)
			pe->pe_baraddr(pi, idx, false, b->decoded_addr);
	}
	if (!want || b->decoded)
		return 0;
	error = io_register(bar_registry(pi, idx), &r);
	if (error)
		return error;
	b->decoded = true;
	b->decoded_addr = b->addr;
	if (pe->pe_baraddr)
		pe->pe_baraddr(pi, idx, true, b->addr);
	return 0;
}

static bool
bar_is_region(const struct pci_bar *b)
{
	return b->type == PCIBAR_IO || b->type == PCIBAR_MEM32 ||
	    b->type == PCIBAR_MEM64;
}

/* Called with the config lock held and pi_lock not held. */
static void
bar_sync(struct pci_devinst *pi)
{
	for (int i = 0; i <= PCI_BARMAX; i++)
		if (bar_is_region(&pi->pi_bar[i]))
			(void)bar_decode(pi, i);
}

static void
bar_undecode_all(struct pci_devinst *pi)
{
	for (int i = 0; i <= PCI_BARMAX; i++) {
		struct pci_bar *b = &pi->pi_bar[i];

		if (b->decoded) {
			(void)io_unregister(bar_registry(pi, i),
			    b->decoded_addr);
			b->decoded = false;
		}
	}
}

static int
bar_request(struct pci_sys *sys, struct pci_devinst *pi, int idx)
{
	if (sys->nreqs == sys->capreqs) {
		int cap = sys->capreqs ? sys->capreqs * 2 : 16;
		struct pci_bar_req *p = realloc(sys->reqs,
		    (size_t)cap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		sys->reqs = p;
		sys->capreqs = cap;
	}
	sys->reqs[sys->nreqs++] = (struct pci_bar_req){ .pi = pi, .idx = idx,
		.seq = sys->seq++ };
	return 0;
}

static int
bar_check(struct pci_devinst *pi, int idx, enum pcibar_type type,
    uint64_t size)
{
	uint64_t max = type == PCIBAR_IO ? 0x10000 :
	    type == PCIBAR_MEM32 ? (1ULL << 31) : PCI_EMUL_MEMSIZE64;

	if (idx < 0 || idx > PCI_BARMAX || size == 0 || size > max)
		return -EINVAL;
	if (type != PCIBAR_IO && type != PCIBAR_MEM32 && type != PCIBAR_MEM64)
		return -EINVAL;
	if (type == PCIBAR_MEM64 && idx == PCI_BARMAX)
		return -EINVAL;
	if (pi->pi_bar[idx].type != PCIBAR_NONE ||
	    (type == PCIBAR_MEM64 && pi->pi_bar[idx + 1].type != PCIBAR_NONE))
		return -EEXIST;
	return 0;
}

static int
bar_alloc(struct pci_devinst *pi, int idx, enum pcibar_type type,
    uint64_t size, bool prefetch)
{
	struct pci_bar *b = &pi->pi_bar[idx];
	int error = bar_check(pi, idx, type, size);
	uint64_t min = type == PCIBAR_IO ? 4 : 16;
	uint32_t lobits = type == PCIBAR_IO ? PCIM_BAR_IO_SPACE :
	    (type == PCIBAR_MEM64 ? PCIM_BAR_MEM_64 : 0) |
	    (prefetch ? PCIM_BAR_MEM_PREFETCH : 0);

	if (error)
		return error;
	if (prefetch && type == PCIBAR_IO)
		return -EINVAL;
	if (size < min)
		size = min;
	while (size & (size - 1))
		size += size & -size; /* up to a power of 2 */
	error = bar_request(pi->pi_sys, pi, idx);
	if (error)
		return error;
	*b = (struct pci_bar){ .type = type, .size = size,
		.prefetch = prefetch, .pi = pi, .idx = idx };
	if (type == PCIBAR_MEM64)
		pi->pi_bar[idx + 1] = (struct pci_bar){ .type = PCIBAR_MEMHI64,
			.pi = pi, .idx = idx + 1 };
	pci_set_cfgdata32(pi, PCIR_BAR(idx), lobits);
	if (pi->pi_sys->enable_bars)
		pci_set_cfgdata16(pi, PCIR_COMMAND,
		    pci_get_cfgdata16(pi, PCIR_COMMAND) |
		    (type == PCIBAR_IO ? PCIM_CMD_PORTEN : PCIM_CMD_MEMEN));
	return 0;
}

int
pci_emul_alloc_bar(struct pci_devinst *pi, int idx, enum pcibar_type type,
    uint64_t size)
{
	return bar_alloc(pi, idx, type, size, false);
}

int
pci_emul_alloc_bar_prefetch(struct pci_devinst *pi, int idx,
    enum pcibar_type type, uint64_t size)
{
	return bar_alloc(pi, idx, type, size, true);
}

static uint64_t *
bar_cursor(struct pci_sys *sys, const struct pci_bar *b, uint64_t *limit)
{
	if (b->type == PCIBAR_IO) {
		*limit = sys->win.io.limit;
		return &sys->next_io;
	}
	if (b->type == PCIBAR_MEM64 && b->size > MEM64_HIGH_MIN) {
		*limit = sys->win.mem64.limit;
		return &sys->next_mem64;
	}
	*limit = sys->win.mem32.limit;
	return &sys->next_mem32;
}

/* Give BAR 'idx' its address and the mask that makes sizing work. */
static int
bar_place(struct pci_devinst *pi, int idx)
{
	struct pci_bar *b = &pi->pi_bar[idx];
	uint64_t limit, *cursor = bar_cursor(pi->pi_sys, b, &limit);
	uint64_t base = roundup_pow2(*cursor, b->size);
	uint64_t sizemask = ~(b->size - 1);
	uint32_t lobits = pci_get_cfgdata32(pi, PCIR_BAR(idx));

	if (base < *cursor || base > limit || b->size > limit - base)
		return pci_emul_error(pi, "no room for BAR %d (0x%llx bytes) in "
		    "the %s window", idx, (unsigned long long)b->size,
		    b->type == PCIBAR_IO ? "I/O" : "MMIO");
	*cursor = base + b->size;
	b->addr = base;
	if (b->type == PCIBAR_IO) {
		pci_set_cfgdata32(pi, PCIR_BAR(idx), (uint32_t)base | lobits);
		/* x86 has 64 KiB of ports: bits 31:16 are hardwired 0. */
		wmask_set32(pi, PCIR_BAR(idx), (uint32_t)sizemask & 0xfffc);
		return 0;
	}
	pci_set_cfgdata32(pi, PCIR_BAR(idx), (uint32_t)base | (lobits & 0xf));
	wmask_set32(pi, PCIR_BAR(idx), (uint32_t)sizemask & ~0xfu);
	if (b->type == PCIBAR_MEM64) {
		pci_set_cfgdata32(pi, PCIR_BAR(idx + 1), (uint32_t)(base >> 32));
		wmask_set32(pi, PCIR_BAR(idx + 1), (uint32_t)(sizemask >> 32));
	}
	return 0;
}

static int
bar_req_cmp(const void *a, const void *b)
{
	const struct pci_bar_req *x = a, *y = b;
	uint64_t sx = x->pi->pi_bar[x->idx].size;
	uint64_t sy = y->pi->pi_bar[y->idx].size;

	if (sx != sy)
		return sx > sy ? -1 : 1;
	return x->seq - y->seq;
}

/* Place the requests made so far: largest first packs the windows. */
static int
bar_place_all(struct pci_sys *sys)
{
	int error = 0;

	if (sys->nreqs > 1)
		qsort(sys->reqs, (size_t)sys->nreqs, sizeof(sys->reqs[0]),
		    bar_req_cmp);
	for (int i = 0; i < sys->nreqs && error == 0; i++)
		error = bar_place(sys->reqs[i].pi, sys->reqs[i].idx);
	sys->nreqs = 0;
	return error;
}

/* Forget the requests of a function whose init failed. */
static void
bar_drop_requests(struct pci_sys *sys, struct pci_devinst *pi)
{
	int n = 0;

	for (int i = 0; i < sys->nreqs; i++)
		if (sys->reqs[i].pi != pi)
			sys->reqs[n++] = sys->reqs[i];
	sys->nreqs = n;
}

/* ---- Capabilities ---- */

int
pci_emul_add_capability(struct pci_devinst *pi, const void *cap, int len)
{
	uint16_t sts = pci_get_cfgdata16(pi, PCIR_STATUS);
	bool first = !(sts & PCIM_STATUS_CAPPRESENT);
	int capoff = first ? PCI_CAP_START : pi->pi_capend + 1;
	int reallen = (len + 3) & ~3;

	if (len < 2 || capoff + reallen > PCI_REGMAX + 1)
		return len < 2 ? -EINVAL : -ENOSPC;
	if (first) {
		pci_set_cfgdata8(pi, PCIR_CAP_PTR, (uint8_t)capoff);
		pci_set_cfgdata16(pi, PCIR_STATUS,
		    sts | PCIM_STATUS_CAPPRESENT);
	} else {
		pci_set_cfgdata8(pi, pi->pi_prevcap + 1, (uint8_t)capoff);
	}
	memcpy(&pi->pi_cfgdata[capoff], cap, (size_t)len);
	pci_set_cfgdata8(pi, capoff + 1, 0);
	pi->pi_prevcap = capoff;
	pi->pi_capend = capoff + reallen - 1;
	return capoff;
}

/*
 * MSI (PCI 3.0, 6.8.1): control, address (+ upper address), data, then
 * with per-vector masking the mask and pending bits.  The guest writes
 * the enable bit, MME, the address (bits 1:0 are 0), the data and the
 * mask bits of the vectors offered; pending bits are the device's.
 */
int
pci_emul_add_msicap(struct pci_devinst *pi, int msgnum, int flags)
{
	struct pci_msi *m = &pi->pi_msi;
	uint8_t cap[MSI_CAP_MAXLEN] = { PCIY_MSI };
	uint16_t ctrl = (uint16_t)((__builtin_ctz((unsigned)msgnum)) << 1);
	int off, data;

	if (msgnum < 1 || msgnum > 32 || (msgnum & (msgnum - 1)) ||
	    (flags & ~(PCI_MSI_64BIT | PCI_MSI_MASKABLE)))
		return -EINVAL;
	if (m->capoff)
		return -EEXIST;
	m->is64 = flags & PCI_MSI_64BIT;
	m->maskable = flags & PCI_MSI_MASKABLE;
	ctrl |= (m->is64 ? PCIM_MSICTRL_64BIT : 0) |
	    (m->maskable ? PCIM_MSICTRL_VECTOR : 0);
	cap[2] = (uint8_t)ctrl;
	cap[3] = (uint8_t)(ctrl >> 8);
	off = pci_emul_add_capability(pi, cap, msi_cap_len(m));
	if (off < 0)
		return off;
	m->capoff = off;
	m->msgnum = msgnum;
	m->nmsgs = 1;
	pi->pi_wmask[off + 2] = PCIM_MSICTRL_MSI_ENABLE | PCIM_MSICTRL_MME_MASK;
	wmask_set32(pi, off + 4, 0xfffffffc);
	if (m->is64)
		wmask_set32(pi, off + 8, 0xffffffff);
	data = off + (m->is64 ? 12 : 8);
	pci_set_cfgwritable(pi, data, 2, 0xff);
	if (m->maskable)
		wmask_set32(pi, msi_mask_off(m),
		    (uint32_t)((1ULL << msgnum) - 1));
	return off;
}

static int
msix_table_init(struct pci_msix *m, int msgnum, int barnum,
    uint32_t pba_offset)
{
	m->table = calloc((size_t)msgnum, sizeof(*m->table));
	m->pba_size = (uint32_t)(((msgnum + 63) / 64) * 8);
	m->pba = calloc(1, m->pba_size);
	if (m->table == NULL || m->pba == NULL) {
		free(m->table);
		free(m->pba);
		m->table = NULL;
		m->pba = NULL;
		return -ENOMEM;
	}
	/* Every vector starts masked (PCI 3.0, 6.8.2.9). */
	for (int i = 0; i < msgnum; i++)
		m->table[i].vector_control = PCIM_MSIX_VCTRL_MASK;
	m->table_count = msgnum;
	m->table_bar = m->pba_bar = barnum;
	m->table_offset = 0;
	m->pba_offset = pba_offset;
	return 0;
}

/*
 * MSI-X (PCI 3.0, 6.8.2): control (table size, function mask, enable),
 * table offset/BIR and PBA offset/BIR.  Only the mask and enable bits are
 * the guest's.
 */
int
pci_emul_add_msixcap(struct pci_devinst *pi, int msgnum, int barnum)
{
	struct pci_msix *m = &pi->pi_msix;
	uint32_t tabsize = (uint32_t)roundup_pow2(
	    (uint64_t)msgnum * MSIX_TABLE_ENTRY_SIZE, 4096);
	uint8_t cap[MSIX_CAP_LEN] = { PCIY_MSIX };
	uint32_t pba_info = tabsize | (uint32_t)barnum;
	int error, off;

	if (msgnum < 1 || msgnum > MAX_MSIX_TABLE_ENTRIES || barnum < 0 ||
	    barnum > PCI_BARMAX)
		return -EINVAL;
	if (m->capoff)
		return -EEXIST;
	error = msix_table_init(m, msgnum, barnum, tabsize);
	if (error == 0)
		error = pci_emul_alloc_bar(pi, barnum, PCIBAR_MEM32,
		    tabsize + m->pba_size);
	cap[2] = (uint8_t)(msgnum - 1);
	cap[3] = (uint8_t)((msgnum - 1) >> 8);
	cap[4] = (uint8_t)barnum;
	memcpy(&cap[8], &pba_info, 4);
	off = error ? error : pci_emul_add_capability(pi, cap, sizeof(cap));
	if (off < 0) {
		free(m->table);
		free(m->pba);
		m->table = NULL;
		m->pba = NULL;
		return off;
	}
	m->capoff = off;
	pi->pi_wmask[off + 3] = (PCIM_MSIXCTRL_MSIX_ENABLE |
	    PCIM_MSIXCTRL_FUNCTION_MASK) >> 8;
	return off;
}

/*
 * PCI Express capability, version 2 (PCIe base, 7.5.3), as bhyve adds it:
 * an endpoint on bus 0 is a root-complex integrated endpoint; others
 * report a 2.5 GT/s x1 link.  Device control, link control and device
 * control 2 are the guest's.
 */
int
pci_emul_add_pciecap(struct pci_devinst *pi, int type)
{
	uint8_t cap[PCIE_CAP_LEN] = { PCIY_EXPRESS };
	int off;

	if (type == PCIEM_TYPE_ENDPOINT && pi->pi_bus == 0)
		type = PCIEM_TYPE_ROOT_INT_EP;
	cap[2] = (uint8_t)(0x2 | type);
	if (type != PCIEM_TYPE_ROOT_INT_EP) {
		cap[0x0c] = 0x11; /* link capabilities: 2.5 GT/s, x1, */
		cap[0x0d] = 0x04; /* L0s ASPM */
		cap[0x12] = 0x11; /* link status: 2.5 GT/s, x1 */
	}
	off = pci_emul_add_capability(pi, cap, sizeof(cap));
	if (off < 0)
		return off;
	pci_set_cfgwritable(pi, off + 0x08, 2, 0xff);
	pci_set_cfgwritable(pi, off + 0x10, 2, 0xff);
	pci_set_cfgwritable(pi, off + 0x28, 2, 0xff);
	return off;
}

/* ---- Config cycles ---- */

enum {
	CFGW_DECODE = 0x1, /* command or BARs changed: redo decoding */
	CFGW_LINTR = 0x2,
};

static int
cfg_write_masked(struct pci_devinst *pi, int off, int bytes, uint32_t val)
{
	struct pci_msi *msi = &pi->pi_msi;
	struct pci_msix *msix = &pi->pi_msix;
	uint16_t oldcmd = pci_get_cfgdata16(pi, PCIR_COMMAND);
	int effects = 0;

	for (int i = 0; i < bytes; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t *p = &pi->pi_cfgdata[off + i];

		*p = (uint8_t)((*p & ~pi->pi_wmask[off + i]) |
		    (b & pi->pi_wmask[off + i]));
		*p &= (uint8_t)~(b & pi->pi_w1cmask[off + i]);
	}
	if (pci_get_cfgdata16(pi, PCIR_COMMAND) != oldcmd)
		effects |= CFGW_DECODE | CFGW_LINTR;
	if (range_meets((uint64_t)off, bytes, PCIR_BAR(0), PCI_BAR_REGS_LEN)) {
		bar_addrs_from_cfg(pi);
		effects |= CFGW_DECODE;
	}
	if (msi->capoff &&
	    range_meets((uint64_t)off, bytes, (uint64_t)msi->capoff,
	    (uint64_t)msi_cap_len(msi))) {
		msi_update(pi);
		effects |= CFGW_LINTR;
	}
	if (msix->capoff &&
	    range_meets((uint64_t)off, bytes, (uint64_t)msix->capoff,
	    MSIX_CAP_LEN)) {
		msix_update(pi);
		effects |= CFGW_LINTR;
	}
	return effects;
}

/*
 * One config access to a function, with the config lock held.  Absent
 * functions and malformed accesses read all ones (a master abort,
 * PCI 3.0, 6.1) and write nothing.
 */
static void
pci_cfg_access(struct pci_sys *sys, bool write, int bus, int slot,
    int func, int off, int bytes, uint32_t *val)
{
	struct pci_bus *b = sys->buses[bus];
	struct pci_devinst *pi = b ? b->funcs[slot][func] : NULL;
	const struct pci_devemu *pe;
	int effects = 0;

	if (pi == NULL || (bytes != 1 && bytes != 2 && bytes != 4) ||
	    (off & (bytes - 1)) != 0) {
		if (!write)
			*val = 0xffffffff;
		return;
	}
	pe = pi->pi_d;
	pthread_mutex_lock(&pi->pi_lock);
	if (!write) {
		if (pe->pe_cfgread == NULL ||
		    pe->pe_cfgread(pi, off, bytes, val) != 0)
			*val = cfg_get(pi, off, bytes);
	} else if (pe->pe_cfgwrite == NULL ||
	    pe->pe_cfgwrite(pi, off, bytes, *val) != 0) {
		effects = cfg_write_masked(pi, off, bytes, *val);
		if (effects & CFGW_LINTR)
			lintr_update(pi);
	}
	pthread_mutex_unlock(&pi->pi_lock);
	if (effects & CFGW_DECODE)
		bar_sync(pi);
}

/*
 * CONFIG_ADDRESS at 0xcf8 takes dword accesses only; anything else in
 * 0xcf8-0xcfb is ordinary I/O (PCI 3.0, 3.2.2.3.2) and goes to whoever
 * registered there.  A narrow access to 0xcf8 itself that nobody takes
 * reads ones, as in bhyve.
 */
static int
conf1_addr_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pci_sys *sys = arg;
	int error;

	if (offset != 0 || size != 4) {
		error = io_dispatch(sys->conf1_pass, vcpu, write,
		    PCI_CONF1_ADDR_PORT + offset, size, val);
		if (error == -ENOENT && offset == 0) {
			if (!write)
				*val = ~0ULL;
			error = 0;
		}
		return error;
	}
	pthread_mutex_lock(&sys->cfg_lock);
	if (write)
		sys->conf1_addr = (uint32_t)*val & CONF1_ADDR_MASK;
	else
		*val = sys->conf1_addr;
	pthread_mutex_unlock(&sys->cfg_lock);
	return 0;
}

/* CONFIG_DATA: byte lanes 0xcfc-0xcff reach register + lane. */
static int
conf1_data_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pci_sys *sys = arg;
	uint32_t a, v = (uint32_t)*val;

	pthread_mutex_lock(&sys->cfg_lock);
	a = sys->conf1_addr;
	if (a & CONF1_ENABLE)
		pci_cfg_access(sys, write, (a >> 16) & 0xff, (a >> 11) & 0x1f,
		    (a >> 8) & 0x7, (int)((a & 0xfc) + offset), size, &v);
	else
		v = 0xffffffff; /* not enabled: passed through, unclaimed */
	pthread_mutex_unlock(&sys->cfg_lock);
	if (!write)
		*val = v;
	return 0;
}

/* ECAM (PCIe base, 7.2.2): bus 27:20, device 19:15, function 14:12. */
static int
ecam_io(struct vcpu *vcpu, bool write, uint64_t offset, int size,
    uint64_t *val, void *arg)
{
	struct pci_sys *sys = arg;
	uint32_t v = (uint32_t)*val;

	pthread_mutex_lock(&sys->cfg_lock);
	pci_cfg_access(sys, write, (int)(offset >> 20), (offset >> 15) & 0x1f,
	    (offset >> 12) & 0x7, offset & 0xfff, size, &v);
	pthread_mutex_unlock(&sys->cfg_lock);
	if (!write)
		*val = size == 8 ? ~0ULL : v;
	return 0;
}

int
pci_conf1_register(struct bhyve_vm *bvm, const struct io_region *r)
{
	if (bvm->pci == NULL)
		return -ENODEV;
	if (r->base < PCI_CONF1_ADDR_PORT || r->size > 4 ||
	    r->base + r->size > PCI_CONF1_ADDR_PORT + 4)
		return -EINVAL;
	return io_register(bvm->pci->conf1_pass, r);
}

int
pci_conf1_unregister(struct bhyve_vm *bvm, uint64_t base)
{
	if (bvm->pci == NULL)
		return -ENODEV;
	return io_unregister(bvm->pci->conf1_pass, base);
}

static int
pci_register_conf(struct pci_sys *sys)
{
	struct bhyve_vm *bvm = sys->bvm;
	struct io_region addr = { .name = "pci-conf1-addr",
		.base = PCI_CONF1_ADDR_PORT, .size = 4,
		.handler = conf1_addr_io, .arg = sys };
	struct io_region data = { .name = "pci-conf1-data",
		.base = PCI_CONF1_DATA_PORT, .size = 4,
		.handler = conf1_data_io, .arg = sys };
	struct io_region ecam = { .name = "pci-ecam", .base = PCI_ECAM_BASE,
		.size = PCI_ECAM_SIZE, .handler = ecam_io, .arg = sys };

	sys->conf1_addr_reg = io_register(bvm->ports, &addr) == 0;
	sys->conf1_data_reg = sys->conf1_addr_reg &&
	    io_register(bvm->ports, &data) == 0;
	sys->ecam_reg = sys->conf1_data_reg &&
	    io_register(bvm->mmio, &ecam) == 0;
	if (!sys->ecam_reg)
		return bhyve_error(bvm, "pci: %s are taken",
		    !sys->conf1_data_reg ? "ports 0xcf8-0xcff" :
		    "addresses 0xe0000000-0xefffffff (ECAM)");
	return 0;
}

/* ---- Start-up: the config tree ---- */

/* A decimal config-node name ("0", "31") no larger than 'max'. */
static int
parse_index(const char *s, int max)
{
	long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	return (int)v;
}

static struct pci_bus *
bus_get(struct pci_sys *sys, int bus)
{
	if (sys->buses[bus] == NULL)
		sys->buses[bus] = calloc(1, sizeof(struct pci_bus));
	return sys->buses[bus];
}

static int
scan_func(struct pci_sys *sys, int bus, int slot, struct config_node *fn,
    const char *prefix)
{
	const char *name = config_node_name(fn);
	int func = parse_index(name, PCI_NFUNCS - 1);
	struct pci_func_cfg *fc;

	if (func < 0 || config_node_is_leaf(fn))
		return bhyve_error(sys->bvm, "%s.%s: not a PCI function "
		    "(pci.<bus>.<slot>.<func>, func 0-7)", prefix, name);
	fc = &sys->buses[bus]->cfg[slot][func];
	if (fc->node != NULL)
		return bhyve_error(sys->bvm, "pci slot %d:%d:%d: configured "
		    "twice (%s and %s.%s)", bus, slot, func, fc->path, prefix,
		    name);
	fc->node = fn;
	snprintf(fc->path, sizeof(fc->path), "%s.%s", prefix, name);
	return 0;
}

static int
scan_slot(struct pci_sys *sys, int bus, struct config_node *sn,
    const char *prefix)
{
	const char *name = config_node_name(sn);
	int slot = parse_index(name, PCI_NSLOTS - 1);
	char path[24];

	if (slot < 0 || config_node_is_leaf(sn))
		return bhyve_error(sys->bvm, "%s.%s: not a PCI slot "
		    "(pci.<bus>.<slot>.<func>, slot 0-31)", prefix, name);
	snprintf(path, sizeof(path), "%s.%s", prefix, name);
	for (struct config_node *fn = config_first_child(sn); fn;
	    fn = config_next_sibling(fn))
		if (scan_func(sys, bus, slot, fn, path) != 0)
			return -1;
	return 0;
}

/*
 * Find every pci.<bus>.<slot>.<func> node.  Leaves right under "pci" are
 * options (pci.enable_bars); names that are not numbers in range are
 * errors, and so are two spellings of one function ("3" and "03").
 */
static int
scan_config(struct pci_sys *sys)
{
	struct config_node *pci = config_find_node(sys->bvm->cfg, "pci");
	char path[16];

	for (struct config_node *bn = pci ? config_first_child(pci) : NULL;
	    bn; bn = config_next_sibling(bn)) {
		const char *name = config_node_name(bn);
		int bus = parse_index(name, PCI_NBUSES - 1);

		if (config_node_is_leaf(bn))
			continue;
		if (bus < 0)
			return bhyve_error(sys->bvm, "pci.%s: not a PCI bus "
			    "(pci.<bus>.<slot>.<func>, bus 0-255)", name);
		if (bus_get(sys, bus) == NULL)
			return bhyve_error(sys->bvm, "pci: out of memory");
		sys->buses[bus]->configured = true;
		snprintf(path, sizeof(path), "pci.%s", name);
		for (struct config_node *sn = config_first_child(bn); sn;
		    sn = config_next_sibling(sn))
			if (scan_slot(sys, bus, sn, path) != 0)
				return -1;
	}
	return 0;
}

static const struct pci_devemu *
find_emul(struct pci_sys *sys, const char *name)
{
	for (size_t i = 0; i < NELEM(pci_devemus); i++)
		if (strcmp(pci_devemus[i]->pe_emu, name) == 0)
			return pci_devemus[i];
	for (int i = 0; i < sys->nextra; i++)
		if (strcmp(sys->extra[i]->pe_emu, name) == 0)
			return sys->extra[i];
	return NULL;
}

static int
emul_missing(struct pci_sys *sys, int bus, int slot, int func,
    const char *name)
{
	for (size_t i = 0; i < NELEM(pci_devemus_legacy); i++)
		if (strcmp(pci_devemus_legacy[i][0], name) == 0)
			return bhyve_error(sys->bvm, "pci slot %d:%d:%d: "
			    "device '%s' is a command-line alias: use '%s'",
			    bus, slot, func, name, pci_devemus_legacy[i][1]);
	for (size_t i = 0; i < NELEM(pci_devemus_pending); i++)
		if (strcmp(pci_devemus_pending[i], name) == 0)
			return bhyve_error(sys->bvm, "pci slot %d:%d:%d: "
			    "device '%s' is not implemented yet", bus, slot,
			    func, name);
	return bhyve_error(sys->bvm, "pci slot %d:%d:%d: unknown device '%s'",
	    bus, slot, func, name);
}

static struct pci_devinst *
devinst_new(struct pci_sys *sys, const struct pci_devemu *pe, int bus,
    int slot, int func)
{
	struct pci_devinst *pi = calloc(1, sizeof(*pi));
	pthread_mutexattr_t attr;

	if (pi == NULL)
		return NULL;
	*pi = (struct pci_devinst){ .pi_d = pe, .pi_bvm = sys->bvm,
		.pi_vmctx = sys->bvm->ctx, .pi_sys = sys, .pi_bus = bus,
		.pi_slot = slot, .pi_func = func,
		.pi_lintr = { .link = -1 }, .pi_capend = PCI_CAP_START - 1 };
	snprintf(pi->pi_name, sizeof(pi->pi_name), "%s@pci.%d.%d.%d",
	    pe->pe_emu, bus, slot, func);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&pi->pi_lock, &attr);
	pthread_mutexattr_destroy(&attr);
	for (int i = 0; i <= PCI_BARMAX; i++)
		pi->pi_bar[i] = (struct pci_bar){ .pi = pi, .idx = i };
	cfg_header_masks(pi);
	/* No legacy interrupt until the device asks (bhyve). */
	pci_set_cfgdata8(pi, PCIR_INTLINE, 255);
	if (sys->enable_bars)
		pci_set_cfgdata16(pi, PCIR_COMMAND, PCIM_CMD_BUSMASTEREN);
	return pi;
}

static void
devinst_free(struct pci_devinst *pi)
{
	free(pi->pi_msix.table);
	free(pi->pi_msix.pba);
	pthread_mutex_destroy(&pi->pi_lock);
	free(pi);
}

static int
create_func(struct pci_sys *sys, int bus, int slot, int func)
{
	struct config_node *node = sys->buses[bus]->cfg[slot][func].node;
	const char *name = config_get(node, "device");
	const struct pci_devemu *pe;
	struct pci_devinst *pi;

	if (name == NULL)
		return bhyve_error(sys->bvm, "pci slot %d:%d:%d: no device= "
		    "given", bus, slot, func);
	pe = find_emul(sys, name);
	if (pe == NULL)
		return emul_missing(sys, bus, slot, func, name);
	pi = devinst_new(sys, pe, bus, slot, func);
	if (pi == NULL)
		return bhyve_error(sys->bvm, "pci: out of memory");
	sys->bvm->err[0] = '\0';
	if (pe->pe_init(sys->bvm, pi, node) != 0) {
		if (sys->bvm->err[0] == '\0')
			pci_emul_error(pi, "cannot initialize");
		bar_drop_requests(sys, pi);
		if (sys->lpc == pi)
			sys->lpc = NULL;
		devinst_free(pi);
		return -1;
	}
	sys->buses[bus]->funcs[slot][func] = pi;
	return 0;
}

/* One bus: its functions, then its BARs, then its share of the windows. */
static int
create_bus(struct pci_sys *sys, int bus)
{
	struct pci_bus *b = sys->buses[bus];

	b->win.io.base = sys->next_io;
	b->win.mem32.base = sys->next_mem32;
	b->win.mem64.base = sys->next_mem64;
	for (int s = 0; s < PCI_NSLOTS; s++)
		for (int f = 0; f < PCI_NFUNCS; f++)
			if (b->cfg[s][f].node != NULL &&
			    create_func(sys, bus, s, f) != 0)
				return -1;
	if (bar_place_all(sys) != 0)
		return -1;
	sys->next_io = roundup_pow2(sys->next_io + BUSIO_ROUNDUP,
	    BUSIO_ROUNDUP);
	sys->next_mem32 = roundup_pow2(sys->next_mem32 + BUSMEM32_ROUNDUP,
	    BUSMEM32_ROUNDUP);
	sys->next_mem64 = roundup_pow2(sys->next_mem64 + BUSMEM64_ROUNDUP,
	    BUSMEM64_ROUNDUP);
	b->win.io.limit = sys->next_io < sys->win.io.limit ? sys->next_io :
	    sys->win.io.limit;
	b->win.mem32.limit = sys->next_mem32 < sys->win.mem32.limit ?
	    sys->next_mem32 : sys->win.mem32.limit;
	b->win.mem64.limit = sys->next_mem64 < sys->win.mem64.limit ?
	    sys->next_mem64 : sys->win.mem64.limit;
	return 0;
}

/* Header type bit 7 on every function of a slot with more than one. */
static void
mark_multifunction(struct pci_bus *b)
{
	for (int s = 0; s < PCI_NSLOTS; s++) {
		int n = 0;

		for (int f = 0; f < PCI_NFUNCS; f++)
			n += b->funcs[s][f] != NULL;
		for (int f = 0; n > 1 && f < PCI_NFUNCS; f++)
			if (b->funcs[s][f] != NULL)
				b->funcs[s][f]->pi_cfgdata[PCIR_HDRTYPE] |=
				    PCIM_MFDEV;
	}
}

/*
 * After every device exists (bhyve routes late so that ISA IRQs are
 * reserved first): link each used (slot, pin), tell each function its
 * interrupt line, and deliver what devices asserted during init.
 */
static void
route_intx(struct pci_sys *sys, struct pci_bus *b)
{
	for (int s = 0; s < PCI_NSLOTS; s++)
		for (int p = 0; p < 4; p++)
			if (b->intpins[s][p] > 0)
				pci_irq_use(sys->irq, pci_irq_link(s, p + 1));
	for (int s = 0; s < PCI_NSLOTS; s++) {
		for (int f = 0; f < PCI_NFUNCS; f++) {
			struct pci_devinst *pi = b->funcs[s][f];
			int isa;

			if (pi == NULL || pi->pi_lintr.pin == 0)
				continue;
			pthread_mutex_lock(&pi->pi_lock);
			pi->pi_lintr.link = pci_irq_link(s, pi->pi_lintr.pin);
			isa = pci_irq_isa_irq(sys->irq, pi->pi_lintr.link);
			pci_set_cfgdata8(pi, PCIR_INTLINE,
			    (uint8_t)(isa >= 0 ? isa : 255));
			lintr_update(pi);
			pthread_mutex_unlock(&pi->pi_lock);
		}
	}
}

static int
decode_bus(struct pci_sys *sys, struct pci_bus *b)
{
	for (int s = 0; s < PCI_NSLOTS; s++) {
		for (int f = 0; f < PCI_NFUNCS; f++) {
			struct pci_devinst *pi = b->funcs[s][f];

			for (int i = 0; pi && i <= PCI_BARMAX; i++) {
				struct pci_bar *bar = &pi->pi_bar[i];
				const char *other;

				if (!bar_is_region(bar) ||
				    bar_decode(pi, i) == 0)
					continue;
				other = io_region_name(bar_registry(pi, i),
				    bar->addr);
				return pci_emul_error(pi, "BAR %d at 0x%llx "
				    "overlaps %s", i,
				    (unsigned long long)bar->addr,
				    other ? other : "another region");
			}
		}
	}
	return 0;
}

static int
create_all(struct pci_sys *sys)
{
	for (int bus = 0; bus < PCI_NBUSES; bus++)
		if (sys->buses[bus] && create_bus(sys, bus) != 0)
			return -1;
	for (int bus = 0; bus < PCI_NBUSES; bus++) {
		struct pci_bus *b = sys->buses[bus];

		if (b == NULL)
			continue;
		mark_multifunction(b);
		route_intx(sys, b);
		if (decode_bus(sys, b) != 0)
			return -1;
	}
	return 0;
}

/* ---- Start-up: windows and options ---- */

static void
compute_windows(struct pci_sys *sys)
{
	struct vmctx *ctx = sys->bvm->ctx;
	uint64_t lowmem = roundup_pow2(vm_get_lowmem_size(ctx), 1ULL << 20);
	uint64_t high_end = VM_HIGHMEM_BASE + vm_get_highmem_size(ctx);
	uint64_t base64 = roundup_pow2(high_end, PCI_EMUL_MEMSIZE64);

	/* Never below 1 MiB: that is the legacy VGA and BIOS area. */
	if (lowmem < (1ULL << 20))
		lowmem = 1ULL << 20;
	sys->win = (struct pci_windows){
		.io = { PCI_EMUL_IOBASE, PCI_EMUL_IOLIMIT },
		.mem32 = { lowmem, PCI_EMUL_MEMLIMIT32 },
		.mem64 = { base64, base64 + PCI_EMUL_MEMSIZE64 },
	};
	sys->next_io = sys->win.io.base;
	sys->next_mem32 = sys->win.mem32.base;
	sys->next_mem64 = sys->win.mem64.base;
}

/*
 * pci.enable_bars: decode BARs from the start.  bhyve's default: yes,
 * unless a boot ROM will program them.
 */
static int
read_options(struct pci_sys *sys)
{
	struct config_node *cfg = sys->bvm->cfg;
	bool rom = config_get(cfg, "lpc.bootrom") != NULL;

	if (config_get_bool(cfg, "pci.enable_bars", !rom,
	    &sys->enable_bars) != 0)
		return bhyve_error(sys->bvm, "invalid pci.enable_bars '%s' "
		    "(want true or false)", config_get(cfg, "pci.enable_bars"));
	return 0;
}

static struct pci_sys *
sys_create(struct bhyve_vm *bvm, const struct pci_emul_opts *opts)
{
	struct pci_sys *sys = calloc(1, sizeof(*sys));
	int pins = 0;

	if (sys == NULL)
		return NULL;
	sys->bvm = bvm;
	pthread_mutex_init(&sys->cfg_lock, NULL);
	sys->extra = opts->extra;
	sys->nextra = opts->extra ? opts->nextra : 0;
	sys->host_sysfs = opts->host_sysfs ? opts->host_sysfs :
	    "/sys/bus/pci/devices";
	if (vm_ioapic_pincount(bvm->ctx, &pins) != 0)
		pins = 0;
	sys->irq = pci_irq_create(opts->intr_ops ? opts->intr_ops :
	    &pci_intr_vmm_ops, opts->intr_ops ? opts->intr_arg : bvm->ctx,
	    pins, PCI_ISA_RESERVED);
	sys->conf1_pass = io_registry_create(0x10000);
	if (sys->irq == NULL || sys->conf1_pass == NULL) {
		pci_irq_destroy(sys->irq);
		io_registry_destroy(sys->conf1_pass);
		free(sys);
		return NULL;
	}
	pci_irq_isa_used(sys->irq, PCI_SCI_IRQ);
	compute_windows(sys);
	return sys;
}

int
pci_emul_init_opts(struct bhyve_vm *bvm, const struct pci_emul_opts *opts)
{
	static const struct pci_emul_opts none;
	struct pci_sys *sys = sys_create(bvm, opts ? opts : &none);

	if (sys == NULL)
		return bhyve_error(bvm, "pci: out of memory");
	bvm->pci = sys;
	if (read_options(sys) != 0 || pci_register_conf(sys) != 0 ||
	    scan_config(sys) != 0 || create_all(sys) != 0) {
		pci_emul_destroy(bvm);
		return -1;
	}
	return 0;
}

int
pci_emul_init(struct bhyve_vm *bvm)
{
	return pci_emul_init_opts(bvm, NULL);
}

static void
destroy_bus(struct pci_bus *b)
{
	for (int s = PCI_NSLOTS - 1; s >= 0; s--) {
		for (int f = PCI_NFUNCS - 1; f >= 0; f--) {
			struct pci_devinst *pi = b->funcs[s][f];

			if (pi == NULL)
				continue;
			/* No vCPU is in a BAR handler once this returns. */
			bar_undecode_all(pi);
			if (pi->pi_d->pe_destroy)
				pi->pi_d->pe_destroy(pi);
			devinst_free(pi);
		}
	}
	free(b);
}

void
pci_emul_destroy(struct bhyve_vm *bvm)
{
	struct pci_sys *sys = bvm->pci;

	if (sys == NULL)
		return;
	if (sys->ecam_reg)
		(void)io_unregister(bvm->mmio, PCI_ECAM_BASE);
	if (sys->conf1_data_reg)
		(void)io_unregister(bvm->ports, PCI_CONF1_DATA_PORT);
	if (sys->conf1_addr_reg)
		(void)io_unregister(bvm->ports, PCI_CONF1_ADDR_PORT);
	for (int bus = PCI_NBUSES - 1; bus >= 0; bus--)
		if (sys->buses[bus])
			destroy_bus(sys->buses[bus]);
	free(sys->reqs);
	pci_irq_destroy(sys->irq);
	io_registry_destroy(sys->conf1_pass);
	pthread_mutex_destroy(&sys->cfg_lock);
	free(sys);
	bvm->pci = NULL;
}

/* ---- Identity registers (pcireg.*) ---- */

struct pcireg_field {
	const char *key;	/* pcireg.<key> */
	const char *sysfs;	/* the host's file */
	int off, width;
};

static const struct pcireg_field pcireg_fields[] = {
	{ "vendor", "vendor", PCIR_VENDOR, 2 },
	{ "device", "device", PCIR_DEVICE, 2 },
	{ "revid", "revision", PCIR_REVID, 1 },
	{ "subvendor", "subsystem_vendor", PCIR_SUBVEND_0, 2 },
	{ "subdevice", "subsystem_device", PCIR_SUBDEV_0, 2 },
};

/* Hex, with or without "0x" (bhyve reads these with base 16). */
static int
parse_hex(const char *s, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (*s == '\0' || strchr(s, '-') || strchr(s, ' '))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno || *end != '\0' || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

static int
host_field(struct pci_devinst *pi, const char *host,
    const struct pcireg_field *f, uint32_t *out)
{
	char path[512], buf[32];
	uint32_t max = f->width == 1 ? 0xff : 0xffff;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s/%s", pi->pi_sys->host_sysfs, host,
	    f->sysfs);
	fp = fopen(path, "re");
	if (fp == NULL)
		return pci_emul_error(pi, "pcireg.%s=host: cannot read %s: %s",
		    f->key, path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (strncmp(buf, "0x", 2) != 0 || parse_hex(buf + 2, max, out) != 0)
		return pci_emul_error(pi, "pcireg.%s=host: %s holds '%s'",
		    f->key, path, buf);
	return 0;
}

static int
pcireg_unknown_keys(struct pci_devinst *pi, struct config_node *pcireg)
{
	if (pcireg == NULL)
		return 0;
	if (config_node_is_leaf(pcireg))
		return pci_emul_error(pi, "pcireg must be a group of keys "
		    "(pcireg.vendor=...)");
	for (struct config_node *n = config_first_child(pcireg); n;
	    n = config_next_sibling(n)) {
		size_t i;

		for (i = 0; i < NELEM(pcireg_fields); i++)
			if (strcmp(pcireg_fields[i].key,
			    config_node_name(n)) == 0)
				break;
		if (i == NELEM(pcireg_fields) || !config_node_is_leaf(n))
			return pci_emul_error(pi, "unknown key pcireg.%s",
			    config_node_name(n));
	}
	return 0;
}

int
pci_emul_set_ids(struct pci_devinst *pi, struct config_node *nvl,
    const struct pci_ids *def, const char *host)
{
	const uint32_t defs[] = { def->vendor, def->device, def->revid,
		def->subvendor, def->subdevice };
	struct config_node *pcireg = config_find_node(nvl, "pcireg");

	if (pcireg_unknown_keys(pi, pcireg) != 0)
		return -1;
	for (size_t i = 0; i < NELEM(pcireg_fields); i++) {
		const struct pcireg_field *f = &pcireg_fields[i];
		const char *s = pcireg ? config_get(pcireg, f->key) : NULL;
		uint32_t v = defs[i], max = f->width == 1 ? 0xff : 0xffff;

		if (s != NULL && host != NULL && strcmp(s, "host") == 0) {
			if (host_field(pi, host, f, &v) != 0)
				return -1;
		} else if (s != NULL && parse_hex(s, max, &v) != 0) {
			return pci_emul_error(pi, "invalid pcireg.%s '%s' (a "
			    "%d-bit hex number%s)", f->key, s, f->width * 8,
			    host ? " or host" : "");
		}
		cfg_set(pi, f->off, f->width, v);
	}
	return 0;
}

const char *
pci_emul_host_sysfs(struct pci_devinst *pi)
{
	return pi->pi_sys->host_sysfs;
}

/* ---- Queries ---- */

int
pci_lpc_claim(struct pci_devinst *pi)
{
	struct pci_devinst *lpc = pi->pi_sys->lpc;

	if (lpc != NULL && lpc != pi)
		return pci_emul_error(pi, "only one LPC bridge is allowed "
		    "(one is at %d:%d:%d)", lpc->pi_bus, lpc->pi_slot,
		    lpc->pi_func);
	pi->pi_sys->lpc = pi;
	return 0;
}

struct pci_devinst *
pci_lpc_devinst(struct bhyve_vm *bvm)
{
	return bvm->pci ? bvm->pci->lpc : NULL;
}

struct pci_irq *
pci_emul_irq(struct bhyve_vm *bvm)
{
	return bvm->pci ? bvm->pci->irq : NULL;
}

int
pci_emul_windows(struct bhyve_vm *bvm, struct pci_windows *w)
{
	if (bvm->pci == NULL)
		return -ENODEV;
	*w = bvm->pci->win;
	return 0;
}

bool
pci_bus_configured(struct bhyve_vm *bvm, int bus)
{
	return bvm->pci && bus >= 0 && bus < PCI_NBUSES &&
	    bvm->pci->buses[bus] && bvm->pci->buses[bus]->configured;
}

int
pci_bus_windows(struct bhyve_vm *bvm, int bus, struct pci_windows *w)
{
	if (!pci_bus_configured(bvm, bus))
		return -ENOENT;
	*w = bvm->pci->buses[bus]->win;
	return 0;
}

uint64_t
pci_ecam_base(void)
{
	return PCI_ECAM_BASE;
}

void
pci_walk_intx(struct bhyve_vm *bvm, int bus, pci_intx_cb *cb, void *arg)
{
	struct pci_bus *b;

	if (!pci_bus_configured(bvm, bus))
		return;
	b = bvm->pci->buses[bus];
	for (int s = 0; s < PCI_NSLOTS; s++) {
		for (int p = 1; p <= 4; p++) {
			struct pci_intx_route r = { .bus = bus, .slot = s,
				.pin = p, .link = pci_irq_link(s, p) };

			if (b->intpins[s][p - 1] == 0)
				continue;
			r.ioapic_pin = pci_irq_ioapic_pin(bvm->pci->irq, r.link);
			r.isa_irq = pci_irq_isa_irq(bvm->pci->irq, r.link);
			cb(&r, arg);
		}
	}
}

struct pci_devinst *
pci_next(struct bhyve_vm *bvm, const struct pci_devinst *cursor)
{
	int start = cursor ? ((cursor->pi_bus * PCI_NSLOTS + cursor->pi_slot) *
	    PCI_NFUNCS + cursor->pi_func + 1) : 0;

	if (bvm->pci == NULL)
		return NULL;
	for (int n = start; n < PCI_NBUSES * PCI_NSLOTS * PCI_NFUNCS; n++) {
		struct pci_bus *b = bvm->pci->buses[n / (PCI_NSLOTS *
		    PCI_NFUNCS)];
		int s = (n / PCI_NFUNCS) % PCI_NSLOTS, f = n % PCI_NFUNCS;

		if (b == NULL) {
			n |= PCI_NSLOTS * PCI_NFUNCS - 1; /* next bus */
			continue;
		}
		if (b->funcs[s][f] != NULL)
			return b->funcs[s][f];
	}
	return NULL;
}

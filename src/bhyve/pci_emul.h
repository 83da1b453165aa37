/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The PCI emulation framework (bhyve's pci_emul.c): buses of emulated
 * functions, each with a 4 KiB configuration space held as a byte array,
 * reached through configuration mechanism #1 (ports 0xcf8/0xcfc) and an
 * ECAM window; BARs placed in the I/O and MMIO windows and decoded through
 * the VM's I/O registries; MSI, MSI-X and INTx for the devices.
 *
 * A device emulation is a struct pci_devemu; the framework creates one
 * struct pci_devinst per configured function (config node
 * pci.<bus>.<slot>.<func>, device=<name>) and calls the emulation's init.
 *
 * Locking.  Config cycles are serialized (one address register, as on a
 * real host bridge).  Each function has pi_lock (recursive), held around
 * the device's cfgread/cfgwrite hooks and around the MSI, MSI-X and INTx
 * state; pci_generate_msi() and friends take it, so devices may call them
 * from any thread.  BAR handlers (barread/barwrite) run with no framework
 * lock held.  BAR regions are (un)registered with the config lock held,
 * waiting for BAR handlers in flight, so neither a BAR handler nor the
 * baraddr callback may make config accesses.
 */
#ifndef PCI_EMUL_H
#define PCI_EMUL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bhyverun.h"
#include "iomem.h"
#include "pci_irq.h"

#define PCI_EMUL_CHECK __attribute__((warn_unused_result))

#define PCI_NBUSES 256
#define PCI_NSLOTS 32
#define PCI_NFUNCS 8
#define PCI_BARMAX 5		/* BARs 0-5 of a type 0 header */
#define PCI_REGMAX 0xff		/* the conventional config space */
#define PCI_CFG_SIZE 4096	/* with the PCIe extended space */

/* Type 0 header registers (PCI Local Bus 3.0, 6.1). */
#define PCIR_VENDOR 0x00
#define PCIR_DEVICE 0x02
#define PCIR_COMMAND 0x04
#define PCIR_STATUS 0x06
#define PCIR_REVID 0x08
#define PCIR_PROGIF 0x09
#define PCIR_SUBCLASS 0x0a
#define PCIR_CLASS 0x0b
#define PCIR_CACHELNSZ 0x0c
#define PCIR_LATTIMER 0x0d
#define PCIR_HDRTYPE 0x0e
#define PCIR_BIST 0x0f
#define PCIR_BAR(i) (0x10 + 4 * (i))
#define PCIR_SUBVEND_0 0x2c
#define PCIR_SUBDEV_0 0x2e
#define PCIR_BIOS 0x30
#define PCIR_CAP_PTR 0x34
#define PCIR_INTLINE 0x3c
#define PCIR_INTPIN 0x3d

#define PCIM_CMD_PORTEN 0x0001
#define PCIM_CMD_MEMEN 0x0002
#define PCIM_CMD_BUSMASTEREN 0x0004
#define PCIM_CMD_PERRESPEN 0x0040
#define PCIM_CMD_SERRESPEN 0x0100
#define PCIM_CMD_INTxDIS 0x0400
#define PCIM_STATUS_INTxSTATE 0x0008
#define PCIM_STATUS_CAPPRESENT 0x0010
#define PCIM_HDRTYPE_NORMAL 0x00
#define PCIM_MFDEV 0x80

#define PCIM_BAR_IO_SPACE 0x1
#define PCIM_BAR_MEM_64 0x4
#define PCIM_BAR_MEM_PREFETCH 0x8

#define PCIC_BRIDGE 0x06
#define PCIS_BRIDGE_HOST 0x00
#define PCIS_BRIDGE_ISA 0x01

/* Capability IDs (PCI Code and ID Assignment). */
#define PCIY_MSI 0x05
#define PCIY_VENDOR 0x09
#define PCIY_EXPRESS 0x10
#define PCIY_MSIX 0x11

/* MSI message control (PCI 3.0, 6.8.1.3). */
#define PCIM_MSICTRL_MSI_ENABLE 0x0001
#define PCIM_MSICTRL_MMC_MASK 0x000e
#define PCIM_MSICTRL_MME_MASK 0x0070
#define PCIM_MSICTRL_64BIT 0x0080
#define PCIM_MSICTRL_VECTOR 0x0100

/* MSI-X (PCI 3.0, 6.8.2). */
#define PCIM_MSIXCTRL_TABLE_SIZE 0x07ff
#define PCIM_MSIXCTRL_FUNCTION_MASK 0x4000
#define PCIM_MSIXCTRL_MSIX_ENABLE 0x8000
#define PCIM_MSIX_BIR_MASK 0x7
#define PCIM_MSIX_VCTRL_MASK 0x1
#define MSIX_TABLE_ENTRY_SIZE 16
#define MAX_MSIX_TABLE_ENTRIES 2048

/* PCI Express capability, device/port type (PCIe base, 7.5.3.2). */
#define PCIEM_TYPE_ENDPOINT 0x00
#define PCIEM_TYPE_ROOT_PORT 0x40
#define PCIEM_TYPE_ROOT_INT_EP 0x90

/*
 * Where the guest finds things: configuration mechanism #1 and the ECAM
 * window (as bhyve: 256 buses x 1 MiB at 3.5 GiB, the MCFG's base).
 */
#define PCI_CONF1_ADDR_PORT 0xcf8
#define PCI_CONF1_DATA_PORT 0xcfc
#define PCI_ECAM_BASE 0xe0000000ULL
#define PCI_ECAM_SIZE (PCI_NBUSES * (1ULL << 20))

/*
 * BAR windows.  I/O from 0x3000 (bhyve starts at 0x2000, where
 * pc-testdev's IRQ ports live here).  32-bit MMIO from the end of low
 * RAM up to the ECAM window.  64-bit MMIO: bhyve's choice, 32 GiB from the
 * end of high RAM rounded up to a 32 GiB boundary (so 32-64 GiB for any
 * VM with less than 28 GiB above 4 GiB).
 */
#define PCI_EMUL_IOBASE 0x3000
#define PCI_EMUL_IOLIMIT 0x10000
#define PCI_EMUL_MEMLIMIT32 PCI_ECAM_BASE
#define PCI_EMUL_MEMSIZE64 (32ULL << 30)

enum pcibar_type {
	PCIBAR_NONE,
	PCIBAR_IO,
	PCIBAR_MEM32,
	PCIBAR_MEM64,
	PCIBAR_MEMHI64, /* the upper half of the 64-bit BAR below it */
};

struct pci_devinst;

struct pci_bar {
	enum pcibar_type type;
	uint64_t addr;	/* what the BAR register holds now */
	uint64_t size;	/* a power of 2 */
	bool prefetch;
	/* Framework-private: what is registered with the I/O registry. */
	struct pci_devinst *pi;
	int idx;
	bool decoded;
	uint64_t decoded_addr;
};

struct pci_msi {
	int capoff;	/* 0: no MSI capability */
	bool is64, maskable;
	int msgnum;	/* messages the capability offers (MMC) */
	bool enabled;
	int nmsgs;	/* messages the guest enabled (MME, at most msgnum) */
	uint64_t addr;
	uint16_t data;
};

struct msix_table_entry {
	uint64_t addr;
	uint32_t msg_data;
	uint32_t vector_control;
};

struct pci_msix {
	int capoff;	/* 0: no MSI-X capability */
	bool enabled;
	bool function_mask;
	int table_bar, pba_bar;
	uint32_t table_offset, pba_offset;
	int table_count;
	uint32_t pba_size;
	struct msix_table_entry *table;
	uint64_t *pba;
};

enum pci_lintr_state {
	PCI_LINTR_IDLE,
	PCI_LINTR_ASSERTED,
	PCI_LINTR_PENDING, /* asserted by the device, masked by the guest */
};

struct pci_lintr {
	int pin;	/* 0: none; 1-4: INTA#-INTD# */
	int link;	/* PIRQ link, once routed; -1 before */
	enum pci_lintr_state state;
};

#define PI_NAMESZ 40

struct pci_devinst {
	const struct pci_devemu *pi_d;
	struct bhyve_vm *pi_bvm;
	struct vmctx *pi_vmctx;
	struct pci_sys *pi_sys;
	int pi_bus, pi_slot, pi_func;
	char pi_name[PI_NAMESZ];	/* "virtio-blk@pci.0.3.0" */
	pthread_mutex_t pi_lock;
	struct pci_bar pi_bar[PCI_BARMAX + 1];
	struct pci_msi pi_msi;
	struct pci_msix pi_msix;
	struct pci_lintr pi_lintr;
	int pi_prevcap, pi_capend;	/* the capability list so far */
	void *pi_arg;			/* the device's softc */
	uint8_t pi_cfgdata[PCI_CFG_SIZE];
	/* Per byte: bits the guest may write, and bits it clears with a 1. */
	uint8_t pi_wmask[PCI_CFG_SIZE];
	uint8_t pi_w1cmask[PCI_CFG_SIZE];
};

/* cfgread/cfgwrite hook result: the framework handles the access. */
#define PCI_EMUL_FALLBACK 1

struct pci_devemu {
	const char *pe_emu; /* the name in device=... */
	/*
	 * Set up config space, BARs, capabilities, INTx.  On failure report
	 * with pci_emul_error() and return -1; the framework undoes the
	 * rest (it calls pe_destroy only for functions whose init succeeded).
	 */
	int (*pe_init)(struct bhyve_vm *bvm, struct pci_devinst *pi,
	    struct config_node *nvl);
	/*
	 * Device-specific config registers: return 0 when handled, or
	 * PCI_EMUL_FALLBACK to let the framework do the access.  Accesses
	 * are 1, 2 or 4 bytes, naturally aligned.
	 */
	int (*pe_cfgwrite)(struct pci_devinst *pi, int offset, int bytes,
	    uint32_t val);
	int (*pe_cfgread)(struct pci_devinst *pi, int offset, int bytes,
	    uint32_t *val);
	/*
	 * BAR accesses (1, 2, 4 or 8 bytes) at 'offset' into BAR 'baridx';
	 * the MSI-X table and PBA, when in a BAR, are the framework's.
	 */
	void (*pe_barwrite)(struct pci_devinst *pi, int baridx,
	    uint64_t offset, int size, uint64_t value);
	uint64_t (*pe_barread)(struct pci_devinst *pi, int baridx,
	    uint64_t offset, int size);
	/* A BAR starts or stops decoding at 'addr' (moves are stop + start). */
	void (*pe_baraddr)(struct pci_devinst *pi, int baridx, bool enabled,
	    uint64_t addr);
	void (*pe_destroy)(struct pci_devinst *pi);
};

/* The emulations in the table, for those that refer to each other. */
extern const struct pci_devemu pci_de_hostbridge;
extern const struct pci_devemu pci_de_lpc;
extern const struct pci_devemu pci_de_virtio_rnd;
extern const struct pci_devemu pci_de_virtio_blk;
extern const struct pci_devemu pci_de_virtio_net;
extern const struct pci_devemu pci_de_virtio_console;

/*
 * Start-up and teardown, called by bhyverun.c after the platform devices
 * and before the loader.  Errors: -1 with a one-line bvm->err naming the
 * slot.  pci_emul_destroy() must run before the I/O registries go.
 */
int pci_emul_init(struct bhyve_vm *bvm) PCI_EMUL_CHECK;
void pci_emul_destroy(struct bhyve_vm *bvm);

/*
 * For tests: extra emulations looked up after the table, replacement
 * interrupt ops, and where "host" looks for the host's PCI devices.  Any
 * field may be zero/NULL for the default.
 */
struct pci_emul_opts {
	const struct pci_devemu *const *extra;
	int nextra;
	const struct pci_intr_ops *intr_ops;
	void *intr_arg;
	const char *host_sysfs; /* default /sys/bus/pci/devices */
};
int pci_emul_init_opts(struct bhyve_vm *bvm,
    const struct pci_emul_opts *opts) PCI_EMUL_CHECK;

/*
 * Record a start-up error prefixed with the function ("pci slot 0:3:0
 * virtio-blk: ..."); returns -1.
 */
int pci_emul_error(struct pci_devinst *pi, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Config space accessors for devices: no side effects, no masks. */
uint8_t pci_get_cfgdata8(struct pci_devinst *pi, int off);
uint16_t pci_get_cfgdata16(struct pci_devinst *pi, int off);
uint32_t pci_get_cfgdata32(struct pci_devinst *pi, int off);
void pci_set_cfgdata8(struct pci_devinst *pi, int off, uint8_t val);
void pci_set_cfgdata16(struct pci_devinst *pi, int off, uint16_t val);
void pci_set_cfgdata32(struct pci_devinst *pi, int off, uint32_t val);
/* Let the guest write 'mask' bits of 'len' bytes from 'off' (default RO). */
void pci_set_cfgwritable(struct pci_devinst *pi, int off, int len,
    uint8_t mask);

/*
 * Set vendor, device, revid, subvendor, subdevice from the defaults and
 * the function's pcireg.* keys (hex numbers, as bhyve reads them).  With
 * 'host' set, the value "host" copies that field of the host's PCI device
 * 'host' ("0000:00:1f.0") from sysfs.  Errors name the key.
 */
struct pci_ids {
	uint16_t vendor, device;
	uint8_t revid;
	uint16_t subvendor, subdevice;
};
int pci_emul_set_ids(struct pci_devinst *pi, struct config_node *nvl,
    const struct pci_ids *def, const char *host) PCI_EMUL_CHECK;
/* The sysfs directory holding the host's PCI devices (tests change it). */
const char *pci_emul_host_sysfs(struct pci_devinst *pi);

/*
 * BARs, placed at the end of start-up (largest first, as bhyve) and
 * decoded at once unless pci.enable_bars=false (the default when a boot
 * ROM will do it).  Sizes round up to a power of 2 (I/O at least 4,
 * memory at least 16).  A 64-bit BAR of 128 MiB or less goes below 4 GiB,
 * as in bhyve, since some drivers mishandle 64-bit addresses.
 */
int pci_emul_alloc_bar(struct pci_devinst *pi, int idx,
    enum pcibar_type type, uint64_t size) PCI_EMUL_CHECK;
int pci_emul_alloc_bar_prefetch(struct pci_devinst *pi, int idx,
    enum pcibar_type type, uint64_t size) PCI_EMUL_CHECK;

/*
 * Capabilities.  pci_emul_add_capability() appends 'len' bytes (the ID in
 * byte 0; the next pointer is filled in) at a dword-aligned offset from
 * 0x40 and returns that offset, or -ENOSPC.  Its bytes are read-only to
 * the guest unless pci_set_cfgwritable() says otherwise.
 */
int pci_emul_add_capability(struct pci_devinst *pi, const void *cap,
    int len) PCI_EMUL_CHECK;
/* MSI with 'msgnum' (1, 2, 4 ... 32) messages. */
#define PCI_MSI_64BIT 0x1	/* 64-bit message address */
#define PCI_MSI_MASKABLE 0x2	/* per-vector mask and pending bits */
int pci_emul_add_msicap(struct pci_devinst *pi, int msgnum, int flags)
    PCI_EMUL_CHECK;
/*
 * MSI-X with 'msgnum' vectors: the table at offset 0 of a new 32-bit
 * memory BAR 'barnum', the PBA after it at the next 4 KiB boundary.
 */
int pci_emul_add_msixcap(struct pci_devinst *pi, int msgnum, int barnum)
    PCI_EMUL_CHECK;
/* A PCI Express capability of 'type' (PCIEM_TYPE_*), version 2. */
int pci_emul_add_pciecap(struct pci_devinst *pi, int type) PCI_EMUL_CHECK;

/*
 * Interrupts from devices.  MSI vector 'index' of the enabled messages;
 * MSI-X table entry 'index' (pending bit set while masked, sent when
 * unmasked).  Return 0 when sent or left pending, -EINVAL when the guest
 * has not enabled that vector.
 */
int pci_generate_msi(struct pci_devinst *pi, int index);
int pci_generate_msix(struct pci_devinst *pi, int index);
bool pci_msi_enabled(struct pci_devinst *pi);
bool pci_msix_enabled(struct pci_devinst *pi);
int pci_msi_maxmsgnum(struct pci_devinst *pi);

/*
 * INTx: pci_lintr_request() during init gives the function an interrupt
 * pin (the slot's least used, as bhyve); assert/deassert drive it, and
 * the guest's command bit 10 and MSI/MSI-X enables mask it.
 */
int pci_lintr_request(struct pci_devinst *pi) PCI_EMUL_CHECK;
void pci_lintr_assert(struct pci_devinst *pi);
void pci_lintr_deassert(struct pci_devinst *pi);

/*
 * Queries for the ACPI, MP-table and E820 generators.
 */
struct pci_window {
	uint64_t base, limit; /* [base, limit) */
};

struct pci_windows {
	struct pci_window io, mem32, mem64;
};

/* The whole windows BARs are placed in. */
int pci_emul_windows(struct bhyve_vm *bvm, struct pci_windows *w);
/*
 * What one bus decodes (its _CRS): the part of each window its BARs
 * were placed in, with some room to spare, as bhyve.  -ENOENT if no
 * pci.<bus> node is configured.
 */
int pci_bus_windows(struct bhyve_vm *bvm, int bus, struct pci_windows *w);
bool pci_bus_configured(struct bhyve_vm *bvm, int bus);
uint64_t pci_ecam_base(void);

/* One routed INTx pin: a _PRT entry and an MP-table interrupt entry. */
struct pci_intx_route {
	int bus, slot;
	int pin;	/* 1 = INTA# .. 4 = INTD# */
	int link;	/* PIRQ link 0-7 (LNKA-LNKH) */
	int ioapic_pin; /* -1: none */
	int isa_irq;	/* -1: the link is not routed to an ISA IRQ */
};
typedef void pci_intx_cb(const struct pci_intx_route *r, void *arg);
/* Call cb for each (slot, pin) of 'bus' that some function uses. */
void pci_walk_intx(struct bhyve_vm *bvm, int bus, pci_intx_cb *cb,
    void *arg);
/* The router, for the link devices (PIRQ registers, current IRQ). */
struct pci_irq *pci_emul_irq(struct bhyve_vm *bvm);
/* The LPC bridge, if configured (its _ADR), else NULL. */
struct pci_devinst *pci_lpc_devinst(struct bhyve_vm *bvm);
/* Every function, in bus/slot/func order: pass NULL to start. */
struct pci_devinst *pci_next(struct bhyve_vm *bvm,
    const struct pci_devinst *cursor);

/*
 * Ports 0xcf8-0xcfb other than a dword at 0xcf8 are not the address
 * register (PCI 3.0, 3.2.2.3.2: other accesses pass through as ordinary
 * I/O).  A device living there (the reset control register at 0xcf9)
 * registers with this instead of bvm->ports, after pci_emul_init().
 */
int pci_conf1_register(struct bhyve_vm *bvm, const struct io_region *r)
    PCI_EMUL_CHECK;
int pci_conf1_unregister(struct bhyve_vm *bvm, uint64_t base);

/* Framework-internal, shared with pci_lpc.c. */
int pci_lpc_claim(struct pci_devinst *pi);

#endif /* PCI_EMUL_H */

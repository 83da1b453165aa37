/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The device model's view of one VM: everything a device needs is
 * reachable from struct bhyve_vm, which is passed, never global.
 */
#ifndef BHYVERUN_H
#define BHYVERUN_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmmapi.h"

struct bhyve_ctl;
struct bhyve_vcpus;
struct config_node;
struct fwcfg_softc;
struct pci_sys;
struct io_registry;
struct mevent_ctx;

/* bhyve(8)'s exit statuses. */
enum bhyve_exit_status {
	BHYVE_EXIT_RESET = 0,
	BHYVE_EXIT_POWEROFF = 1,
	BHYVE_EXIT_HALT = 2,
	BHYVE_EXIT_TRIPLEFAULT = 3,
	BHYVE_EXIT_ERROR = 4,
};

#define BHYVE_ERRLEN 256

struct bhyve_vm {
	struct vmctx *ctx;
	struct config_node *cfg;
	struct mevent_ctx *mev;
	struct io_registry *ports; /* 0 .. 0xffff */
	struct io_registry *mmio;  /* guest-physical, outside RAM */
	int ncpus;
	struct fwcfg_softc *fwcfg; /* the QEMU fw_cfg device, if any */
	struct bhyve_ctl *ctl;	   /* the control socket server */
	struct pci_sys *pci;	   /* PCI buses and devices (pci_emul.c) */
	struct bhyve_vcpus *vcpus; /* the vCPU threads (bhyverun.c) */
	uint64_t rsdp;		   /* the ACPI RSDP's guest address; 0: none */
	bool strictio;	 /* x86.strictio (-e): unhandled accesses stop the VM */
	bool strictmsr;	 /* x86.strictmsr: unknown MSRs raise #GP */
	bool verbosemsr; /* x86.verbosemsr: log unknown MSR accesses */

	/* Set once by the first bhyve_request_exit(); read at teardown. */
	int exit_status;
	_Atomic bool exit_requested;

	/* Devices created from the device table, torn down in reverse. */
	struct bhyve_dev_inst *devs;

	char err[BHYVE_ERRLEN]; /* the last start-up error, one line */
};

/*
 * Build the VM the config describes, run it until it ends, tear it down.
 * Returns bhyve's exit status; start-up errors are printed on stderr.
 */
int bhyve_run(struct config_node *cfg);

/*
 * ACPI tables, MP table, SMBIOS and E820, from the devices and PCI buses
 * created so far (firmware.c); sets bvm->rsdp.
 */
int bhyve_firmware_init(struct bhyve_vm *bvm);

/* Start vCPU 'id''s thread (once); -1 with bvm->err on failure. */
int bhyve_start_vcpu(struct bhyve_vm *bvm, int id);

/*
 * Record a one-line start-up error naming the culprit; returns -1 so that
 * "return bhyve_error(bvm, ...)" reads naturally.
 */
int bhyve_error(struct bhyve_vm *bvm, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * End the VM with 'status' (the first request wins): every vCPU leaves
 * the guest and bhyve exits once they have stopped.  Safe from any thread.
 */
void bhyve_request_exit(struct bhyve_vm *bvm, int status);

/*
 * A platform device (LPC devices and the like): created at start-up when
 * its config says so, in table order; destroyed in reverse.  'enabled'
 * decides from the config whether the device is wanted.
 */
struct bhyve_device {
	const char *name;
	const char *help; /* one line for "-l help" */
	bool (*enabled)(struct bhyve_vm *bvm);
	int (*init)(struct bhyve_vm *bvm, void **softc);
	void (*destroy)(void *softc);
};

struct bhyve_dev_inst {
	const struct bhyve_device *dev;
	void *softc;
	struct bhyve_dev_inst *next;
};

/* Create every enabled device of the table; on error bvm->err says why. */
int bhyve_devices_init(struct bhyve_vm *bvm);
void bhyve_devices_destroy(struct bhyve_vm *bvm);
/* Print the table for "-l help". */
void bhyve_devices_help(void);

#endif /* BHYVERUN_H */

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the kernel loaders.  The input is the kernel file,
 * handed to the loader as an in-memory image (loader_load_image(), the
 * loader minus reading boot.kernel).  One 16 MiB VM on the null backend
 * serves the whole run.  Each input is loaded once without boot
 * arguments; one that loads is loaded again with a command line and a
 * module, so the multiboot information and module placement are fuzzed
 * as well.
 *
 * Besides the sanitizers, the target checks: a failure leaves a one-line
 * message, and a success leaves vCPU 0 in protected mode with EAX either
 * 0 or the multiboot magic, the latter with EBX pointing at RAM.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bhyverun.h"
#include "config.h"
#include "loader_internal.h"
#include "vmmapi.h"

#define FUZZ_RAM (16ULL << 20)
#define FUZZ_MB_MAGIC 0x2BADB002u
#define FUZZ_MBI_SIZE 116

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bhyve_vm fuzz_bvm;
static struct vcpu *fuzz_vcpu;
static char fuzz_module_path[64];

static void
fuzz_die(const char *why)
{
	fprintf(stderr, "fuzz_loader: %s\n", why);
	abort();
}

/* The module lives in a memfd, reached by path: no file is left behind. */
static void
fuzz_make_module(void)
{
	static const char content[] = "module contents for the fuzzer";
	int fd = memfd_create("fuzz-module", 0);

	if (fd < 0 || write(fd, content, sizeof(content)) != sizeof(content))
		fuzz_die("cannot create the module");
	snprintf(fuzz_module_path, sizeof(fuzz_module_path),
	    "/proc/self/fd/%d", fd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_bvm.cfg = config_new();
	fuzz_bvm.ctx = vm_create("fuzz-loader", VMM_BACKEND_NULL, NULL);
	if (fuzz_bvm.cfg == NULL || fuzz_bvm.ctx == NULL ||
	    vm_setup_memory(fuzz_bvm.ctx, FUZZ_RAM) != 0)
		fuzz_die("cannot create the VM");
	fuzz_vcpu = vm_vcpu_open(fuzz_bvm.ctx, 0);
	if (fuzz_vcpu == NULL)
		fuzz_die("cannot open vcpu 0");
	fuzz_make_module();
	return 0;
}

static uint64_t
fuzz_reg(int reg)
{
	uint64_t v;

	if (vm_get_register(fuzz_vcpu, reg, &v) != 0)
		fuzz_die("cannot read a register");
	return v;
}

static void
fuzz_check(int error)
{
	uint64_t eax, ebx;

	if (error != 0) {
		if (error != -1 || fuzz_bvm.err[0] == '\0' ||
		    strchr(fuzz_bvm.err, '\n') != NULL)
			fuzz_die("a failure without a one-line message");
		return;
	}
	if (!(fuzz_reg(VM_REG_GUEST_CR0) & 1))
		fuzz_die("loaded, but not in protected mode");
	eax = fuzz_reg(VM_REG_GUEST_RAX);
	ebx = fuzz_reg(VM_REG_GUEST_RBX);
	if (eax != 0 && eax != FUZZ_MB_MAGIC)
		fuzz_die("unexpected EAX at entry");
	if (eax == FUZZ_MB_MAGIC &&
	    vm_map_gpa(fuzz_bvm.ctx, ebx, FUZZ_MBI_SIZE) == NULL)
		fuzz_die("the multiboot information is not in RAM");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct loader_module mod = { .path = fuzz_module_path,
		.string = "initrd" };
	const struct loader_args none = { .cmdline = NULL };
	const struct loader_args some = { .cmdline = "console=ttyS0 fuzz",
		.mods = &mod, .nmods = 1 };
	int error;

	fuzz_bvm.err[0] = '\0';
	error = loader_load_image(&fuzz_bvm, "fuzz", data, size, &none);
	fuzz_check(error);
	if (error != 0)
		return 0;
	fuzz_bvm.err[0] = '\0';
	fuzz_check(loader_load_image(&fuzz_bvm, "fuzz", data, size, &some));
	return 0;
}

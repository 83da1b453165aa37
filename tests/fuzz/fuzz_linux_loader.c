/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target: the Linux boot paths.  The input is the kernel file
 * (a bzImage, an ELF with or without a PVH note, or anything else),
 * handed to loader_load_image() as an in-memory image.  Each input is
 * loaded twice in one 64 MiB VM on the null backend: with a command line
 * whose length comes from a hash of the input (0 to 4199 bytes, so both
 * sides of cmdline_size and of PVH's 2047 are reached) and a small initrd,
 * then with neither.
 *
 * Besides the sanitizers (no crash, no leak), the target checks: a
 * failure leaves a one-line message; a success leaves vCPU 0 in protected
 * mode, and a bzImage's zero page or a PVH start info that carries the
 * command line just as given.
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

#define FUZZ_RAM (64ULL << 20)
#define FUZZ_CMDLINE_MAX 4200
#define FUZZ_MB_MAGIC 0x2BADB002u
#define FUZZ_PVH_MAGIC 0x336ec578u
#define FUZZ_ZP_LOADER 0x210	 /* type_of_loader */
#define FUZZ_ZP_CMDLINE 0x228	 /* cmd_line_ptr */
#define FUZZ_SI_CMDLINE 24	 /* hvm_start_info.cmdline_paddr */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct bhyve_vm fuzz_bvm;
static struct vcpu *fuzz_vcpu;
static char fuzz_initrd_path[64];
static char fuzz_cmdline[FUZZ_CMDLINE_MAX + 1];

static void
fuzz_die(const char *why)
{
	fprintf(stderr, "fuzz_linux_loader: %s\n", why);
	abort();
}

/* The initrd lives in a memfd, reached by path: no file is left behind. */
static void
fuzz_make_initrd(void)
{
	static const char content[] = "070701 an initramfs for the fuzzer";
	int fd = memfd_create("fuzz-initrd", 0);

	if (fd < 0 || write(fd, content, sizeof(content)) != sizeof(content))
		fuzz_die("cannot create the initrd");
	snprintf(fuzz_initrd_path, sizeof(fuzz_initrd_path),
	    "/proc/self/fd/%d", fd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char words[] = "console=ttyS0 root=/dev/vda ";

	(void)argc, (void)argv;
	fuzz_bvm.cfg = config_new();
	fuzz_bvm.ctx = vm_create("fuzz-linux", VMM_BACKEND_NULL, NULL);
	if (fuzz_bvm.cfg == NULL || fuzz_bvm.ctx == NULL ||
	    vm_setup_memory(fuzz_bvm.ctx, FUZZ_RAM) != 0)
		fuzz_die("cannot create the VM");
	fuzz_vcpu = vm_vcpu_open(fuzz_bvm.ctx, 0);
	if (fuzz_vcpu == NULL)
		fuzz_die("cannot open vcpu 0");
	for (size_t i = 0; i < FUZZ_CMDLINE_MAX; i++)
		fuzz_cmdline[i] = words[i % (sizeof(words) - 1)];
	fuzz_make_initrd();
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

static uint32_t
fuzz_rd32(uint64_t gpa)
{
	const uint8_t *p = vm_map_gpa(fuzz_bvm.ctx, gpa, 4);

	if (p == NULL)
		fuzz_die("a boot structure is not in RAM");
	return loader_rd32(p);
}

/* The string at 'gpa' must be in RAM and 'len' bytes long. */
static void
fuzz_check_string(uint64_t gpa, size_t len)
{
	const char *s = vm_map_gpa(fuzz_bvm.ctx, gpa, len + 1);

	if (s == NULL || strnlen(s, len + 1) != len)
		fuzz_die("the command line was not passed as given");
}

static void
fuzz_check(int error, size_t cmdlen)
{
	uint64_t rbx, rsi;

	if (error != 0) {
		if (error != -1 || fuzz_bvm.err[0] == '\0' ||
		    strchr(fuzz_bvm.err, '\n') != NULL)
			fuzz_die("a failure without a one-line message");
		return;
	}
	if (!(fuzz_reg(VM_REG_GUEST_CR0) & 1))
		fuzz_die("loaded, but not in protected mode");
	if (fuzz_reg(VM_REG_GUEST_RAX) == FUZZ_MB_MAGIC)
		return; /* multiboot: fuzz_loader's business */
	rbx = fuzz_reg(VM_REG_GUEST_RBX);
	rsi = fuzz_reg(VM_REG_GUEST_RSI);
	if (rsi == LOADER_ZERO_PAGE_ADDR) {
		if ((fuzz_rd32(rsi + FUZZ_ZP_LOADER) & 0xff) != 0xff)
			fuzz_die("zero page without type_of_loader");
		fuzz_check_string(fuzz_rd32(rsi + FUZZ_ZP_CMDLINE), cmdlen);
	} else if (rbx != 0) {
		if (fuzz_rd32(rbx) != FUZZ_PVH_MAGIC)
			fuzz_die("PVH start info without its magic");
		fuzz_check_string(fuzz_rd32(rbx + FUZZ_SI_CMDLINE), cmdlen);
	} else if (cmdlen != 0) {
		fuzz_die("a plain ELF kernel took a command line");
	}
}

/* FNV-1a: a command line length that follows the input. */
static size_t
fuzz_cmdlen(const uint8_t *data, size_t size)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	return h % FUZZ_CMDLINE_MAX;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct loader_module initrd = { .path = fuzz_initrd_path,
		.string = fuzz_initrd_path };
	size_t cmdlen = fuzz_cmdlen(data, size);
	char saved = fuzz_cmdline[cmdlen];
	const struct loader_args some = { .cmdline = fuzz_cmdline,
		.mods = &initrd, .nmods = 1 };
	const struct loader_args none = { .cmdline = NULL };

	fuzz_cmdline[cmdlen] = '\0';
	fuzz_bvm.err[0] = '\0';
	fuzz_check(loader_load_image(&fuzz_bvm, "fuzz", data, size, &some),
	    cmdlen);
	fuzz_cmdline[cmdlen] = saved;
	fuzz_bvm.err[0] = '\0';
	fuzz_check(loader_load_image(&fuzz_bvm, "fuzz", data, size, &none),
	    0);
	return 0;
}

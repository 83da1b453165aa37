/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Build a VM from the config tree, run one thread per vCPU and the event
 * loop on the main thread, and tear everything down when the VM ends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "acpi.h"
#include "bhyverun.h"
#include "config.h"
#include "ctl.h"
#include "iomem.h"
#include "loader.h"
#include "mevent.h"
#include "pci_emul.h"
#include "vmexit.h"

struct vcpu_thread {
	struct bhyve_vm *bvm;
	struct vcpu *vcpu;
	pthread_t tid;
	bool started;
};

/* The vCPU threads; started ones are joined at teardown. */
struct bhyve_vcpus {
	pthread_mutex_t lock; /* 'started' of each thread */
	struct vcpu_thread vt[VM_MAXCPU];
};

int
bhyve_error(struct bhyve_vm *bvm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bvm->err, sizeof(bvm->err), fmt, ap);
	va_end(ap);
	return -1;
}

void
bhyve_request_exit(struct bhyve_vm *bvm, int status)
{
	bool expected = false;

	if (atomic_compare_exchange_strong(&bvm->exit_requested, &expected,
	    true)) {
		bvm->exit_status = status;
		/* Any reason will do: bvm->exit_status is what bhyve returns. */
		(void)vm_suspend(bvm->ctx, VM_SUSPEND_POWEROFF);
		mevent_stop(bvm->mev);
	}
}

static void *
vcpu_loop(void *arg)
{
	struct vcpu_thread *vt = arg;
	struct bhyve_vm *bvm = vt->bvm;
	struct vm_exit vme = { 0 };
	char name[16];

	snprintf(name, sizeof(name), "vcpu %d", vcpu_id(vt->vcpu));
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		enum vmexit_action action;
		int error = vm_run(vt->vcpu, &vme);

		if (error) {
			fprintf(stderr, "bhyve: vcpu %d: vm_run: %s\n",
			    vcpu_id(vt->vcpu), strerror(-error));
			bhyve_request_exit(bvm, BHYVE_EXIT_ERROR);
			break;
		}
		action = vmexit_handle(bvm, vt->vcpu, &vme);
		if (action == VMEXIT_ABORT)
			bhyve_request_exit(bvm, BHYVE_EXIT_ERROR);
		if (action != VMEXIT_CONTINUE)
			break;
	}
	return NULL;
}

/*
 * vcpu.N.cpuset (-p): host CPUs the vCPU thread may run on, as a list of
 * numbers and ranges ("2", "0-3,6").
 */
static int
parse_cpuset(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s) {
		char *end;
		unsigned long lo = strtoul(s, &end, 10), hi = lo;

		if (end == s)
			return -EINVAL;
		if (*end == '-') {
			s = end + 1;
			hi = strtoul(s, &end, 10);
			if (end == s || hi < lo)
				return -EINVAL;
		}
		if (hi >= CPU_SETSIZE)
			return -EINVAL;
		for (unsigned long c = lo; c <= hi; c++)
			CPU_SET(c, set);
		if (*end == ',')
			end++;
		else if (*end != '\0')
			return -EINVAL;
		s = end;
	}
	return CPU_COUNT(set) > 0 ? 0 : -EINVAL;
}

static int
vcpu_thread_attr(struct bhyve_vm *bvm, int id, pthread_attr_t *attr)
{
	char key[32];
	const char *spec;
	cpu_set_t set;

	pthread_attr_init(attr);
	snprintf(key, sizeof(key), "vcpu.%d.cpuset", id);
	spec = config_get(bvm->cfg, key);
	if (spec == NULL)
		return 0;
	if (parse_cpuset(spec, &set) != 0)
		return bhyve_error(bvm, "invalid %s '%s'", key, spec);
	pthread_attr_setaffinity_np(attr, sizeof(set), &set);
	return 0;
}

/*
 * Start the thread of vCPU 'id': the BSP at start-up, an AP when the
 * guest's start-up IPI reaches it (VM_EXITCODE_SPINUP_AP; the vmm has set
 * its registers).  Starting one that runs already does nothing: Linux
 * sends every AP two SIPIs.
 */
int
bhyve_start_vcpu(struct bhyve_vm *bvm, int id)
{
	struct vcpu_thread *vt = &bvm->vcpus->vt[id];
	pthread_attr_t attr;
	int error = 0;

	pthread_mutex_lock(&bvm->vcpus->lock);
	/* Once the VM is ending, run_vm() may be joining: start nothing. */
	if (vt->started || atomic_load(&bvm->exit_requested))
		goto out;
	*vt = (struct vcpu_thread){ .bvm = bvm,
		.vcpu = vm_vcpu_open(bvm->ctx, id) };
	if (vt->vcpu == NULL || vcpu_thread_attr(bvm, id, &attr) != 0) {
		error = bhyve_error(bvm, "cannot open vcpu %d", id);
		goto out;
	}
	error = pthread_create(&vt->tid, &attr, vcpu_loop, vt);
	pthread_attr_destroy(&attr);
	if (error)
		error = bhyve_error(bvm, "cannot start vcpu %d thread: %s", id,
		    strerror(error));
	else
		vt->started = true;
out:
	pthread_mutex_unlock(&bvm->vcpus->lock);
	return error;
}

/* Signals are taken in the event loop, never in the middle of an exit. */
static void
signal_event(int fd, enum mevent_type type, void *arg)
{
	struct bhyve_vm *bvm = arg;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGTERM) {
		/*
		 * As bhyve: the ACPI power button, for the guest to shut
		 * down; pm.c powers off at once if ACPI is not enabled.
		 */
		fprintf(stderr, "bhyve: %s: pressing the power button\n",
		    strsignal((int)si.ssi_signo));
		pm_power_button(bvm);
		return;
	}
	fprintf(stderr, "bhyve: %s: powering off\n", strsignal((int)si.ssi_signo));
	bhyve_request_exit(bvm, BHYVE_EXIT_POWEROFF);
}

/*
 * Before any thread exists: threads inherit the mask, so a process-wide
 * SIGTERM can only be taken through the signalfd, never by the default
 * action in some thread.
 */
static void
block_signals(sigset_t *set)
{
	/* A console client that goes away must not kill the VM. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

static int
watch_signals(struct bhyve_vm *bvm, sigset_t *set, int *sfd)
{
	*sfd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (*sfd < 0)
		return bhyve_error(bvm, "signalfd: %s", strerror(errno));
	if (mevent_add(bvm->mev, *sfd, EVF_READ, signal_event, bvm) == NULL)
		return bhyve_error(bvm, "cannot watch signals");
	return 0;
}

static int
config_uint(struct bhyve_vm *bvm, const char *key, uint64_t *out)
{
	if (config_get_uint(bvm->cfg, key, 1, out) != 0)
		return bhyve_error(bvm, "invalid %s '%s'", key,
		    config_get(bvm->cfg, key));
	return 0;
}

static int
config_flag(struct bhyve_vm *bvm, const char *key, bool def, bool *out)
{
	if (config_get_bool(bvm->cfg, key, def, out) != 0)
		return bhyve_error(bvm, "invalid %s '%s' (want true or false)",
		    key, config_get(bvm->cfg, key));
	return 0;
}

static int
setup_vm(struct bhyve_vm *bvm)
{
	struct config_node *cfg = bvm->cfg;
	const char *name = config_get(cfg, "name");
	const char *backend = config_get(cfg, "vmm.backend");
	uint64_t sockets, cores, threads, cpus;
	bool x2apic;
	size_t memsize;
	const char *why = NULL;

	if (strcmp(backend, "auto") == 0)
		backend = vm_backend_auto();
	if (config_uint(bvm, "sockets", &sockets) ||
	    config_uint(bvm, "cores", &cores) ||
	    config_uint(bvm, "threads", &threads) ||
	    config_uint(bvm, "cpus", &cpus) ||
	    config_flag(bvm, "x86.strictio", false, &bvm->strictio) ||
	    config_flag(bvm, "x86.strictmsr", true, &bvm->strictmsr) ||
	    config_flag(bvm, "x86.verbosemsr", false, &bvm->verbosemsr))
		return -1;
	if (vm_parse_memsize(config_get(cfg, "memory.size"), &memsize) != 0)
		return bhyve_error(bvm, "invalid memory.size");

	bvm->ctx = vm_create(name, backend, &why);
	if (bvm->ctx == NULL)
		return bhyve_error(bvm, "cannot create VM '%s' on %s: %s%s%s",
		    name, backend, why ? why : "", why ? ": " : "",
		    strerror(errno));
	if (vm_set_topology(bvm->ctx, (int)sockets, (int)cores, (int)threads,
	    (int)cpus) != 0)
		return bhyve_error(bvm, "invalid cpu topology");
	if (config_flag(bvm, "x86.x2apic", false, &x2apic) ||
	    vm_set_x2apic(bvm->ctx, x2apic) != 0)
		return bhyve_error(bvm, "cannot set x86.x2apic");
	bvm->ncpus = (int)cpus;
	int error = vm_setup_memory(bvm->ctx, memsize);
	if (error)
		return bhyve_error(bvm, "cannot set up %zu bytes of guest "
		    "memory: %s", memsize, strerror(-error));
	for (int i = 0; i < bvm->ncpus; i++)
		if (vm_vcpu_open(bvm->ctx, i) == NULL)
			return bhyve_error(bvm, "cannot create vcpu %d: %s", i,
			    strerror(errno));
	return 0;
}

static int
setup_device_model(struct bhyve_vm *bvm)
{
	bvm->vcpus = calloc(1, sizeof(*bvm->vcpus));
	if (bvm->vcpus == NULL)
		return bhyve_error(bvm, "out of memory");
	pthread_mutex_init(&bvm->vcpus->lock, NULL);
	bvm->mev = mevent_create();
	bvm->ports = io_registry_create(0x10000);
	bvm->mmio = io_registry_create(UINT64_MAX);
	if (bvm->mev == NULL || bvm->ports == NULL || bvm->mmio == NULL)
		return bhyve_error(bvm, "out of memory");
	if (bhyve_devices_init(bvm) != 0 || pci_emul_init(bvm) != 0 ||
	    bhyve_firmware_init(bvm) != 0)
		return -1;
	return bhyve_load_kernel(bvm);
}

static void
teardown(struct bhyve_vm *bvm)
{
	bhyve_ctl_stop(bvm);
	pci_emul_destroy(bvm);
	bhyve_devices_destroy(bvm);
	mevent_destroy(bvm->mev);
	io_registry_destroy(bvm->ports);
	io_registry_destroy(bvm->mmio);
	vm_destroy(bvm->ctx);
	if (bvm->vcpus) {
		pthread_mutex_destroy(&bvm->vcpus->lock);
		free(bvm->vcpus);
	}
}

static int
run_vm(struct bhyve_vm *bvm)
{
	struct bhyve_vcpus *vcpus = bvm->vcpus;
	int error;

	/* The BSP starts now; APs start when the guest sends them a SIPI. */
	if (bhyve_start_vcpu(bvm, 0) != 0)
		return -1;
	error = mevent_dispatch(bvm->mev);
	if (error) {
		fprintf(stderr, "bhyve: event loop: %s\n", strerror(-error));
		bhyve_request_exit(bvm, BHYVE_EXIT_ERROR);
	}
	/* The VM is ending: bhyve_start_vcpu() starts no more threads. */
	for (int i = 0; i < VM_MAXCPU; i++) {
		bool started;

		pthread_mutex_lock(&vcpus->lock);
		started = vcpus->vt[i].started;
		pthread_mutex_unlock(&vcpus->lock);
		if (started)
			pthread_join(vcpus->vt[i].tid, NULL);
	}
	return 0;
}

int
bhyve_run(struct config_node *cfg)
{
	struct bhyve_vm bvm = { .cfg = cfg, .exit_status = BHYVE_EXIT_ERROR };
	sigset_t sigs;
	int sfd = -1;
	int status;

	block_signals(&sigs);
	if (setup_vm(&bvm) != 0 || setup_device_model(&bvm) != 0 ||
	    watch_signals(&bvm, &sigs, &sfd) != 0 || bhyve_ctl_start(&bvm) != 0 ||
	    run_vm(&bvm) != 0) {
		fprintf(stderr, "bhyve: %s\n", bvm.err);
		status = BHYVE_EXIT_ERROR;
	} else {
		status = bvm.exit_status;
	}
	teardown(&bvm);
	if (sfd >= 0)
		close(sfd);
	return status;
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Interrupt latency benchmark guest (issue 3), built with the test-guest
 * kit and run unchanged under bhyve and QEMU (bench/compare-irq):
 *
 *   - timer-oneshot: the LAPIC timer in one-shot mode is armed for a
 *     deadline 'delay_us' ahead; the handler's first instruction reads
 *     the TSC, and the sample is that TSC minus the deadline.  The
 *     deadline is the midpoint of the TSC readings around the initial
 *     count write (the VMM starts counting somewhere inside that exit)
 *     plus the count converted with the timer clock calibrated here.
 *   - timer-tscdl: the same with TSC-deadline mode (SDM vol. 3A
 *     11.5.4.1), when CPUID.1:ECX[24] offers it: the deadline is exact.
 *   - ipi-rtt: the BSP sends a fixed IPI to CPU 1, whose handler sends a
 *     fixed IPI back; the sample is the BSP's TSC in its handler minus
 *     its TSC before the ICR write.  ipi-oneway is CPU 1's TSC in its
 *     handler minus the same start (meaningful if the VMM keeps the
 *     vCPUs' TSCs in step, as both KVM and the vtx backend do).
 *   - arm-write: the TSC cost of the one-shot initial count write, i.e.
 *     of one LAPIC register write exit, for scale.
 *
 * Nothing is assumed about the platform's clocks: the TSC rate comes
 * from CPUID leaf 0x15 or 0x16 when offered, else from the HPET (whose
 * period register says its rate), else from the ACPI PM timer (pmport=,
 * pmbits= as for the test guests); the LAPIC timer clock is measured
 * against the TSC (bhyve: 100 MHz, KVM's in-kernel APIC: 1 GHz).
 *
 * The measured vectors bypass the kit's common interrupt path: on the
 * test machines ring-0 guest code is emulated at about 1 us per
 * instruction, and the kit's path (register save, dispatch, counting)
 * would add a hundred of them to every sample.  Their entry stubs read
 * the TSC first and clobber RAX/RCX/RDX, which is safe because IF is
 * set only in lat_halt(), which declares those registers clobbered.
 *
 * Command line: samples=N (default 200), delay_us=D (default 1000),
 * cpus=N (2 or more adds the IPI figures), x2apic=1, pmport=, pmbits=,
 * tscsrc=cpuid|hpet|pmtimer (the first offered, unless told).
 * Output: a "bench: clocks ..." line with the calibration, then one
 * "bench: NAME n=... skipped=... min_ns=... median_ns=... p90_ns=...
 * max_ns=..." line per figure, then "PASS latency".  Samples are taken
 * after LAT_WARMUP discarded ones; a timer sample is skipped (counted in
 * skipped=) when the guest had not reached HLT by the deadline.  A VMM
 * that loses an interrupt leaves the guest halted: the caller's timeout
 * ends it.
 */
#include "apic.h"
#include "chips.h"
#include "guest.h"
#include "smp.h"

#define LAT_VEC_TIMER		0x60
#define LAT_VEC_PING		0x61
#define LAT_VEC_ACK		0x62
#define LAT_MAX_SAMPLES		1000
#define LAT_WARMUP		5
/* The LAPIC timer's calibration: the median of windows of LAT_CAL_US. */
#define LAT_CAL_US		20000
#define LAT_CAL_WINDOWS		5
#define LAT_AP_WAIT_US		2000000

#define LAT_STR(x)		#x
#define LAT_XSTR(x)		LAT_STR(x)
/* LAPIC_BASE without its C suffix, for the assembler. */
#define LAT_LAPIC_PAGE		0xfee00000
_Static_assert(LAT_LAPIC_PAGE == LAPIC_BASE, "xAPIC page");

/* Written by the entry stubs below: the TSC at each handler's entry. */
volatile uint64_t lat_bsp_tsc;
volatile uint64_t lat_ap_tsc;
/* Set by the AP's stub once it has sent its reply and EOIed. */
volatile uint32_t lat_ap_done = 1;
/* The BSP's APIC ID, for the AP's reply (x2APIC stub). */
uint32_t lat_bsp_apic_id;

void lat_bsp_entry(void);
void lat_ap_entry_xapic(void);
void lat_ap_entry_x2apic(void);

/*
 * The entry stubs.  The BSP's takes the timer and the IPI reply: TSC,
 * then return (the EOI is the waiting code's).  The AP's replies first
 * and then EOIs (the reply is what is being timed), and says it is done
 * so that the BSP's next ping cannot find the vector still in service.
 * xAPIC: ICR high was set to the BSP once, so one ICR-low write sends;
 * the page is reached through a register because 0xfee00000 does not
 * sign-extend.
 */
__asm__(
	".text\n"
	".balign 16\n"
	".globl lat_bsp_entry\n"
	"lat_bsp_entry:\n"
	"	rdtsc\n"
	"	shlq $32, %rdx\n"
	"	orq %rdx, %rax\n"
	"	movq %rax, lat_bsp_tsc(%rip)\n"
	"	iretq\n"
	".balign 16\n"
	".globl lat_ap_entry_xapic\n"
	"lat_ap_entry_xapic:\n"
	"	rdtsc\n"
	"	shlq $32, %rdx\n"
	"	orq %rdx, %rax\n"
	"	movq %rax, lat_ap_tsc(%rip)\n"
	"	movl $" LAT_XSTR(LAT_LAPIC_PAGE) ", %eax\n"
	"	movl $" LAT_XSTR(LAT_VEC_ACK) ", "
	    LAT_XSTR(LAPIC_ICR_LO) "(%rax)\n"
	"	movl $0, " LAT_XSTR(LAPIC_EOI) "(%rax)\n"
	"	movl $1, lat_ap_done(%rip)\n"
	"	iretq\n"
	".balign 16\n"
	".globl lat_ap_entry_x2apic\n"
	"lat_ap_entry_x2apic:\n"
	"	rdtsc\n"
	"	shlq $32, %rdx\n"
	"	orq %rdx, %rax\n"
	"	movq %rax, lat_ap_tsc(%rip)\n"
	"	movl $0x830, %ecx\n"	/* ICR (SDM vol. 3A 11.12.9) */
	"	movl $" LAT_XSTR(LAT_VEC_ACK) ", %eax\n"
	"	movl lat_bsp_apic_id(%rip), %edx\n"
	"	wrmsr\n"
	"	movl $0x80b, %ecx\n"	/* EOI */
	"	xorl %eax, %eax\n"
	"	xorl %edx, %edx\n"
	"	wrmsr\n"
	"	movl $1, lat_ap_done(%rip)\n"
	"	iretq\n");

struct lat_clocks {
	uint64_t tsc_hz;
	uint64_t lapic_hz;
	const char *tsc_source;
};

struct lat_stats {
	unsigned n;
	unsigned skipped;
	int64_t min, median, p90, max;
};

static volatile uint32_t lat_ap_ready;

/* Waits in HLT until the stub stored a nonzero TSC in *where. */
static uint64_t
lat_halt(volatile uint64_t *where)
{
	while (*where == 0)
		__asm__ volatile("sti; hlt; cli" ::: "rax", "rcx", "rdx",
		    "memory");
	return *where;
}

static uint64_t
lat_ticks_to_ns(const struct lat_clocks *c, uint64_t ticks)
{
	return ticks * 1000000ULL / (c->tsc_hz / 1000);
}

static int64_t
lat_sticks_to_ns(const struct lat_clocks *c, int64_t ticks)
{
	if (ticks < 0)
		return -(int64_t)lat_ticks_to_ns(c, (uint64_t)-ticks);
	return (int64_t)lat_ticks_to_ns(c, (uint64_t)ticks);
}

/* ---- Clocks ---- */

static void
lat_sort(int64_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		int64_t x = v[i];
		unsigned j = i;

		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static uint64_t
lat_lapic_ccr(void)
{
	return lapic_timer_ccr();
}

/*
 * The LAPIC timer's clock at divide 1, against the TSC: a masked
 * one-shot counts down from 2^32 - 1 while the TSC advances LAT_CAL_US.
 */
static uint64_t
lat_lapic_hz_window(uint64_t tsc_hz)
{
	uint64_t t0, t1, end, c0, c1;

	lapic_write(LAPIC_TIMER_ICR, 0xffffffffu);
	t0 = tsc_pair(lat_lapic_ccr, &c0);
	end = t0 + tsc_hz * LAT_CAL_US / 1000000;
	while (rdtsc() < end)
		;
	t1 = tsc_pair(lat_lapic_ccr, &c1);
	lapic_write(LAPIC_TIMER_ICR, 0);
	/* Each pair took the tightest of its reads: c1 is no later. */
	return (c0 - c1) * tsc_hz / (t1 - t0);
}

static void
lat_lapic_calibrate(struct lat_clocks *c)
{
	int64_t w[LAT_CAL_WINDOWS];

	lapic_write(LAPIC_TIMER_ICR, 0);
	lapic_write(LAPIC_TIMER_DCR, lapic_dcr(1));
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | LAPIC_TIMER_ONESHOT |
	    LAT_VEC_TIMER);
	for (int i = 0; i < LAT_CAL_WINDOWS; i++)
		w[i] = (int64_t)lat_lapic_hz_window(c->tsc_hz);
	lat_sort(w, LAT_CAL_WINDOWS);
	c->lapic_hz = (uint64_t)w[LAT_CAL_WINDOWS / 2];
	/* The kit's own delays (AP start-up) use this clock too. */
	if (c->lapic_hz != 0)
		lapic_timer_hz = c->lapic_hz;
}

/* ---- Statistics ---- */

/* Sorts the n samples (in TSC ticks) and reports them in ns. */
static void
lat_report(const struct lat_clocks *c, const char *name, int64_t *v,
    unsigned n, unsigned skipped)
{
	struct lat_stats s = { .n = n, .skipped = skipped };

	if (!CHECK(n > 0)) {
		printf("bench: %s n=0 skipped=%u\n", name, skipped);
		return;
	}
	lat_sort(v, n);
	s.min = lat_sticks_to_ns(c, v[0]);
	s.median = lat_sticks_to_ns(c, v[n / 2]);
	s.p90 = lat_sticks_to_ns(c, v[(n * 9 + 9) / 10 - 1]);
	s.max = lat_sticks_to_ns(c, v[n - 1]);
	printf("bench: %s n=%u skipped=%u min_ns=%ld median_ns=%ld "
	    "p90_ns=%ld max_ns=%ld\n", name, s.n, s.skipped, s.min, s.median,
	    s.p90, s.max);
}

/* ---- Sampling ---- */

struct lat_ctx {
	const struct lat_clocks *clk;
	uint32_t count;		/* one-shot initial count */
	uint64_t ticks;		/* the delay in TSC ticks */
	uint32_t ping_dest;	/* CPU 1's APIC ID */
};

/*
 * One sample into *v (and a second figure into *x); false if it does
 * not count (the guest had not reached HLT by the deadline, say).
 */
typedef bool lat_sample_fn(const struct lat_ctx *ctx, int64_t *v,
    int64_t *x);

struct lat_run {
	int64_t v[LAT_MAX_SAMPLES];
	int64_t x[LAT_MAX_SAMPLES];
	unsigned n;
	unsigned skipped;
};

static struct lat_run lat_run;

/* 'want' samples after LAT_WARMUP discarded ones, at most 4x tries. */
static void
lat_collect(lat_sample_fn *fn, const struct lat_ctx *ctx, unsigned want)
{
	unsigned tries = 0;

	lat_run.n = 0;
	lat_run.skipped = 0;
	while (lat_run.n < want && tries < 4 * want + LAT_WARMUP) {
		int64_t v = 0, x = 0;
		bool ok = fn(ctx, &v, &x);

		if (++tries <= LAT_WARMUP)
			continue;
		if (!ok) {
			lat_run.skipped++;
			continue;
		}
		lat_run.v[lat_run.n] = v;
		lat_run.x[lat_run.n] = x;
		lat_run.n++;
	}
}

/*
 * x: the TSC span of the initial count write (one exit).  The VMM
 * starts counting somewhere in it: the midpoint is taken.
 */
static bool
lat_oneshot_once(const struct lat_ctx *ctx, int64_t *v, int64_t *x)
{
	uint64_t a, b, deadline, halted, fired;

	lat_bsp_tsc = 0;
	a = rdtsc();
	lapic_write(LAPIC_TIMER_ICR, ctx->count);
	b = rdtsc();
	deadline = a + (b - a) / 2 + ctx->ticks;
	halted = rdtsc();
	fired = lat_halt(&lat_bsp_tsc);
	lapic_eoi();
	*v = (int64_t)(fired - deadline);
	*x = (int64_t)(b - a);
	/* A write stalled for an eighth of the delay leaves no deadline. */
	return halted < deadline && b - a < ctx->ticks / 8;
}

static bool
lat_tscdl_once(const struct lat_ctx *ctx, int64_t *v, int64_t *x)
{
	uint64_t deadline, halted, fired;

	lat_bsp_tsc = 0;
	deadline = rdtsc() + ctx->ticks;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	halted = rdtsc();
	fired = lat_halt(&lat_bsp_tsc);
	lapic_eoi();
	*v = (int64_t)(fired - deadline);
	return halted < deadline;
}

/* x: CPU 1's TSC at its handler, from the same start. */
static bool
lat_ipi_once(const struct lat_ctx *ctx, int64_t *v, int64_t *x)
{
	uint64_t t0, back;

	while (!lat_ap_done)
		__asm__ volatile("pause");
	lat_ap_done = 0;
	lat_bsp_tsc = 0;
	lat_ap_tsc = 0;
	t0 = rdtsc();
	if (lapic_x2apic)
		wrmsr(MSR_X2APIC_BASE + (LAPIC_ICR_LO >> 4),
		    (uint64_t)ctx->ping_dest << 32 | ICR_DM_FIXED |
		    LAT_VEC_PING);
	else
		lapic_write(LAPIC_ICR_LO, ICR_DM_FIXED | LAT_VEC_PING);
	back = lat_halt(&lat_bsp_tsc);
	lapic_eoi();
	*v = (int64_t)(back - t0);
	*x = (int64_t)(lat_ap_tsc - t0);
	return lat_ap_tsc != 0;
}

static void
lat_bench_oneshot(struct lat_ctx *ctx, unsigned samples, uint64_t delay_us)
{
	const struct lat_clocks *c = ctx->clk;

	ctx->count = (uint32_t)(c->lapic_hz * delay_us / 1000000);
	ctx->ticks = (uint64_t)ctx->count * c->tsc_hz / c->lapic_hz;
	lapic_write(LAPIC_TIMER_ICR, 0);
	lapic_write(LAPIC_TIMER_DCR, lapic_dcr(1));
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_ONESHOT | LAT_VEC_TIMER);
	lat_collect(lat_oneshot_once, ctx, samples);
	lapic_timer_stop();
	lat_report(c, "timer-oneshot", lat_run.v, lat_run.n, lat_run.skipped);
	if (lat_run.n > 0)
		lat_report(c, "arm-write", lat_run.x, lat_run.n, 0);
}

static void
lat_bench_tscdl(struct lat_ctx *ctx, unsigned samples, uint64_t delay_us)
{
	const struct lat_clocks *c = ctx->clk;

	if (!lapic_has_tsc_deadline()) {
		printf("bench: timer-tscdl unavailable\n");
		return;
	}
	ctx->ticks = c->tsc_hz * delay_us / 1000000;
	/* The LVT first: the MSR is ignored in other modes (11.5.4.1). */
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_TSCDL | LAT_VEC_TIMER);
	lat_collect(lat_tscdl_once, ctx, samples);
	wrmsr(MSR_TSC_DEADLINE, 0);
	lapic_timer_stop();
	lat_report(c, "timer-tscdl", lat_run.v, lat_run.n, lat_run.skipped);
}

/* CPU 1 and up: xAPIC replies go to the BSP; then wait for pings. */
static void
lat_ap_main(unsigned index)
{
	if (!lapic_x2apic)
		lapic_write(LAPIC_ICR_HI, lat_bsp_apic_id << 24);
	__atomic_fetch_add(&lat_ap_ready, 1, __ATOMIC_SEQ_CST);
	for (;;)
		__asm__ volatile("sti; hlt; cli" ::: "rax", "rcx", "rdx",
		    "memory");
}

static bool
lat_aps_ready(void *arg)
{
	return lat_ap_ready >= *(const unsigned *)arg;
}

static void
lat_bench_ipi(struct lat_ctx *ctx, unsigned samples, unsigned cpus)
{
	unsigned aps;

	lat_bsp_apic_id = lapic_id();
	aps = smp_start_aps(lat_ap_main, cpus - 1, LAT_AP_WAIT_US);
	if (!CHECK(aps >= 1) || !CHECK(irq_wait(lat_aps_ready, &aps,
	    LAT_AP_WAIT_US))) {
		printf("bench: ipi-rtt no AP came up\n");
		return;
	}
	ctx->ping_dest = smp_cpus[1].apic_id;
	if (!lapic_x2apic)
		lapic_write(LAPIC_ICR_HI, ctx->ping_dest << 24);
	lat_collect(lat_ipi_once, ctx, samples);
	lat_report(ctx->clk, "ipi-rtt", lat_run.v, lat_run.n,
	    lat_run.skipped);
	lat_report(ctx->clk, "ipi-oneway", lat_run.x, lat_run.n, 0);
}

static uint64_t
lat_arg(const char *args, const char *key, uint64_t def, uint64_t lo,
    uint64_t hi)
{
	uint64_t v;

	if (!cmdline_get_u64(args, key, &v))
		return def;
	return v < lo ? lo : v > hi ? hi : v;
}

int
guest_main(struct boot_info *bi)
{
	struct lat_clocks clk = { .tsc_source = "none" };
	struct lat_ctx ctx = { .clk = &clk };
	unsigned samples = (unsigned)lat_arg(bi->args, "samples", 200, 1,
	    LAT_MAX_SAMPLES);
	uint64_t delay_us = lat_arg(bi->args, "delay_us", 1000, 10, 1000000);
	unsigned cpus = (unsigned)lat_arg(bi->args, "cpus", 1, 1,
	    SMP_MAX_CPUS);

	lapic_init(bi->args);
	if (cmdline_has_word(bi->args, "x2apic=1"))
		CHECK(lapic_enter_x2apic());
	lapic_enable();
	irq_set_gate(LAT_VEC_TIMER, lat_bsp_entry);
	irq_set_gate(LAT_VEC_ACK, lat_bsp_entry);
	irq_set_gate(LAT_VEC_PING, lapic_x2apic ? lat_ap_entry_x2apic :
	    lat_ap_entry_xapic);
	clk.tsc_hz = tsc_calibrate(bi->args, &clk.tsc_source);
	if (CHECK(clk.tsc_hz >= 1000000))
		lat_lapic_calibrate(&clk);
	printf("bench: clocks tsc_hz=%lu source=%s lapic_hz=%lu apic=%s "
	    "delay_us=%lu\n", clk.tsc_hz, clk.tsc_source, clk.lapic_hz,
	    lapic_x2apic ? "x2apic" : "xapic", delay_us);
	if (!CHECK(clk.lapic_hz >= 1000))
		return guest_finish("latency");
	lat_bench_oneshot(&ctx, samples, delay_us);
	lat_bench_tscdl(&ctx, samples, delay_us);
	if (cpus >= 2)
		lat_bench_ipi(&ctx, samples, cpus);
	return guest_finish("latency");
}

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The TSC's rate, for guests that time things (the benchmarks): CPUID
 * leaf 0x15 or 0x16 where the CPU reports it, else measured against the
 * HPET or the ACPI PM timer.  A measurement is the median of
 * TSC_CAL_WINDOWS windows of TSC_CAL_US each, and each window's ends are
 * the tightest of TSC_PAIR_TRIES TSC-bracketed reads of the reference: a
 * host that stalls the vCPU inside one read spoils a bracket, not a
 * window.
 */
#include "guest.h"
#include "chips.h"

#define TSC_CAL_US		20000
#define TSC_CAL_WINDOWS		5
#define TSC_PAIR_TRIES		4
#define TSC_CAL_MAX_READS	1000000
#define TSC_HPET_MAX_FS		100000000u	/* HPET 1.0a 2.3.9.1: 100 ns */

/* CPUID 0x15 (TSC/crystal ratio) or 0x16 (base MHz); 0 if neither. */
static uint64_t
tsc_hz_cpuid(const char **source)
{
	uint32_t r[4], max;

	cpuid(0, 0, r);
	max = r[0];
	if (max >= 0x15) {
		cpuid(0x15, 0, r);
		if (r[0] != 0 && r[1] != 0 && r[2] != 0) {
			*source = "cpuid-0x15";
			return (uint64_t)r[2] * r[1] / r[0];
		}
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, r);
		if ((r[0] & 0xffff) != 0) {
			*source = "cpuid-0x16";
			return (uint64_t)(r[0] & 0xffff) * 1000000ULL;
		}
	}
	return 0;
}

uint64_t
tsc_pair(tsc_counter_fn *read, uint64_t *counter)
{
	uint64_t a = rdtsc(), c = read(), b = rdtsc();
	uint64_t best = b - a, mid = a + best / 2;

	*counter = c;
	for (int i = 1; i < TSC_PAIR_TRIES; i++) {
		a = rdtsc();
		c = read();
		b = rdtsc();
		if (b - a < best) {
			best = b - a;
			mid = a + best / 2;
			*counter = c;
		}
	}
	return mid;
}

/*
 * The TSC rate over about TSC_CAL_US of a reference counter running at
 * 'hz' and 'mask' wide, busy-waiting on the counter (each read an exit,
 * so the wait costs no emulated loop of note).  0 if the counter does
 * not move (a PM timer at the wrong port, say).
 */
static uint64_t
tsc_hz_window(tsc_counter_fn *read, uint64_t hz, uint64_t mask)
{
	uint64_t c0, c1, t0, t1, want = hz * TSC_CAL_US / 1000000;
	uint32_t reads = 0;

	t0 = tsc_pair(read, &c0);
	while (((read() - c0) & mask) < want)
		if (++reads > TSC_CAL_MAX_READS)
			return 0;
	t1 = tsc_pair(read, &c1);
	return (t1 - t0) * hz / ((c1 - c0) & mask);
}

static uint64_t
tsc_hz_against(tsc_counter_fn *read, uint64_t hz, uint64_t mask)
{
	uint64_t w[TSC_CAL_WINDOWS];

	for (int i = 0; i < TSC_CAL_WINDOWS; i++) {
		uint64_t x = tsc_hz_window(read, hz, mask);
		int j = i;

		for (; j > 0 && w[j - 1] > x; j--)
			w[j] = w[j - 1];
		w[j] = x;
	}
	return w[TSC_CAL_WINDOWS / 2];
}

static uint64_t
tsc_pm_read(void)
{
	return pmtimer_read();
}

bool
tsc_hpet_usable(void)
{
	uint32_t period = hpet_period_fs();

	return period != 0 && period <= TSC_HPET_MAX_FS;
}

uint64_t
tsc_calibrate(const char *args, const char **source)
{
	char want[16] = "";
	uint64_t hz = 0;

	*source = "none";
	(void)cmdline_get(args, "tscsrc", want, sizeof(want));
	if (want[0] == '\0' || strcmp(want, "cpuid") == 0)
		hz = tsc_hz_cpuid(source);
	if (hz != 0)
		return hz;
	if (strcmp(want, "pmtimer") != 0 && tsc_hpet_usable()) {
		hpet_config(true, false);
		*source = "hpet";
		return tsc_hz_against(hpet_counter, hpet_hz(), ~0ULL);
	}
	pmtimer_init(args);
	*source = "pmtimer";
	return tsc_hz_against(tsc_pm_read, PMTIMER_HZ,
	    cmdline_has_word(args, "pmbits=24") ? 0xffffffULL : 0xffffffffULL);
}

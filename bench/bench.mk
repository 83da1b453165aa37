# SPDX-License-Identifier: BSD-2-Clause
# Benchmarks: figures side by side with a peer, not tests.
BENCH_PROGS := $(BUILD)/bench/exitcost

$(BUILD)/bench/%: $(call obj,bench/%.c) $(LIBBHYVE) $(LIBVMM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: all $(BENCH_PROGS)
	$(BUILD)/bench/exitcost

.PHONY: bench

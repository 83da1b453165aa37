# SPDX-License-Identifier: BSD-2-Clause
# libFuzzer targets (clang), with a short deterministic run in make check.
#
# Every tests/fuzz/fuzz_<name>.c is a target: it defines
# LLVMFuzzerTestOneInput() and becomes $(BUILD)/fuzz/fuzz_<name>, linked
# against the project recompiled with clang and the fuzzer's coverage
# instrumentation under $(BUILD)/fuzz-obj (gcc's objects cannot be used).
# Other tests/fuzz/*.c files are helpers linked into every target.
# Seeds live in tests/fuzz/corpus/fuzz_<name>/.
#
#   make fuzzers                 build them all
#   make check-fuzz              build, then run each -runs=20000 -seed=1
#   make check-fuzz FUZZ_SRCS=tests/fuzz/fuzz_cli.c    just one
#   $(BUILD)/fuzz/fuzz_cli -max_total_time=600 DIR   fuzz for real

FUZZ_OBJDIR := $(BUILD)/fuzz-obj
FUZZ_RUNS ?= 20000
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g $(WARN) $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link -pthread
FUZZ_LDFLAGS := $(FUZZ_SAN) -fsanitize=fuzzer -pthread
# Each fuzzer run: a fixed seed and run count, stdout closed (help text),
# a hang is a failure too.
FUZZ_RUN_FLAGS := -runs=$(FUZZ_RUNS) -seed=1 -close_fd_mask=1 -timeout=10

fuzz_obj = $(patsubst %.c,$(FUZZ_OBJDIR)/%.o,$(1))

# Helpers: never a fuzz_*.c, so that FUZZ_SRCS="tests/fuzz/fuzz_cli.c" on
# the command line builds and runs just that one.
FUZZ_SUPPORT_SRCS := $(filter-out tests/fuzz/fuzz_%.c,\
	$(wildcard tests/fuzz/*.c))
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_LIBBHYVE := $(FUZZ_OBJDIR)/libbhyve.a
FUZZ_LIBVMM := $(FUZZ_OBJDIR)/libvmm.a
FUZZ_RT = $(shell $(CLANG) -print-file-name=libclang_rt.fuzzer-$(shell \
	uname -m).a 2>/dev/null)

# Say plainly what is missing instead of failing in the middle of a build.
fuzz-toolchain:
	@command -v $(CLANG) >/dev/null 2>&1 || { echo "fuzz: $(CLANG) is" \
		"not installed; run tools/install-deps (clang," \
		"libclang-rt-14-dev)" >&2; exit 1; }
	@test -f "$(FUZZ_RT)" || { echo "fuzz: $(CLANG) has no libFuzzer" \
		"runtime; run tools/install-deps (libclang-rt-14-dev)" >&2; \
		exit 1; }

$(FUZZ_OBJDIR)/%.o: %.c | fuzz-toolchain
	@mkdir -p $(dir $@)
	@echo "  FUZZCC  $<"
	@$(CLANG) $(FUZZ_CFLAGS) $(call incs,$(patsubst %/,%,$(dir $<))) -MMD -MP \
		-c $< -o $@

$(FUZZ_LIBVMM): $(call fuzz_obj,$(VMM_SRCS))
	@rm -f $@
	@$(AR) rcs $@ $^

$(FUZZ_LIBBHYVE): $(call fuzz_obj,$(BHYVE_LIB_SRCS))
	@rm -f $@
	@$(AR) rcs $@ $^

$(BUILD)/fuzz/%: $(FUZZ_OBJDIR)/tests/fuzz/%.o \
		$(call fuzz_obj,$(FUZZ_SUPPORT_SRCS)) $(FUZZ_LIBBHYVE) \
		$(FUZZ_LIBVMM) | fuzz-toolchain
	@mkdir -p $(dir $@)
	@echo "  FUZZLD  $@"
	@$(CLANG) $(FUZZ_LDFLAGS) -o $@ $^ $(LDLIBS)

fuzzers: $(FUZZERS)

# Each target runs over a scratch copy of its seeds (libFuzzer adds what
# it finds to its first corpus directory); a crash, leak or hang fails
# make and leaves the input under $(BUILD)/fuzz-artifacts/.
check-fuzz: fuzzers
	@set -e; for f in $(FUZZERS); do \
		name=$$(basename $$f); \
		work=$(BUILD)/fuzz-work/$$name; \
		rm -rf $$work; mkdir -p $$work $(BUILD)/fuzz-artifacts; \
		if [ -d tests/fuzz/corpus/$$name ]; then \
			cp -R tests/fuzz/corpus/$$name/. $$work/; fi; \
		echo "  FUZZ    $$name"; \
		if ! $$f $(FUZZ_RUN_FLAGS) \
			-artifact_prefix=$(BUILD)/fuzz-artifacts/$$name- \
			$$work >$$work.log 2>&1; then \
			tail -n 40 $$work.log; \
			echo "check-fuzz: $$name failed, see $$work.log" >&2; \
			exit 1; \
		fi; \
	done

.PHONY: fuzzers check-fuzz fuzz-toolchain

-include $(shell find $(FUZZ_OBJDIR) -name '*.d' 2>/dev/null)

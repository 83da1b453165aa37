# SPDX-License-Identifier: BSD-2-Clause
# libFuzzer targets (clang), with a short deterministic run in make check.
check-fuzz:
.PHONY: check-fuzz

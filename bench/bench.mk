# SPDX-License-Identifier: BSD-2-Clause
bench:
.PHONY: bench

# SPDX-License-Identifier: BSD-2-Clause
# Test guests: freestanding kernels built with the host compiler.
guests:
check-guests:
.PHONY: guests check-guests

# bench/ rules; owned by the benchmark harness. Included by the top-level Makefile and usable alone:
#   make -f bench/bench.mk bench-loadgen
# Variables are prefixed BENCH_ so they never collide with the top-level Makefile's.

BENCH_OUT      := build/bench
BENCH_LOADGEN  := $(BENCH_OUT)/ferry-loadgen
BENCH_SRCS     := $(wildcard bench/loadgen/*.cpp)
BENCH_OBJS     := $(BENCH_SRCS:bench/loadgen/%.cpp=$(BENCH_OUT)/%.o)
BENCH_CXX      ?= g++
BENCH_CC       ?= gcc
BENCH_SLOWFS   := $(BENCH_OUT)/slowfs
BENCH_FSOPS    := $(BENCH_OUT)/fsops
BENCH_CXXFLAGS := -std=c++20 -O2 -g -Wall -Wextra -Werror -pthread -MMD -MP

.PHONY: bench-loadgen bench-slowfs bench-fsops
bench-loadgen: $(BENCH_LOADGEN)
bench-slowfs: $(BENCH_SLOWFS)
bench-fsops: $(BENCH_FSOPS)

# Metadata calls by a thread pool against io_uring (liburing-dev, installed by bench/run).
$(BENCH_FSOPS): bench/uring/fsops.cpp
	@mkdir -p $(dir $@)
	$(BENCH_CXX) $(BENCH_CXXFLAGS) $< -o $@ -luring

# The FUSE pass-through of the slow-storage workload (libfuse3-dev, installed by bench/run).
$(BENCH_SLOWFS): bench/slowfs/slowfs.c
	@mkdir -p $(dir $@)
	$(BENCH_CC) -O2 -g -Wall -Wextra -Werror $$(pkg-config --cflags fuse3) $< -o $@ $$(pkg-config --libs fuse3)

$(BENCH_LOADGEN): $(BENCH_OBJS)
	$(BENCH_CXX) -pthread $^ -o $@ -lssl -lcrypto

$(BENCH_OUT)/%.o: bench/loadgen/%.cpp
	@mkdir -p $(dir $@)
	$(BENCH_CXX) $(BENCH_CXXFLAGS) -c $< -o $@

-include $(BENCH_OBJS:.o=.d)

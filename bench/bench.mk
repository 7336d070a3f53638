# bench/ rules; owned by the benchmark harness. Included by the top-level Makefile and usable alone:
#   make -f bench/bench.mk bench-loadgen
# Variables are prefixed BENCH_ so they never collide with the top-level Makefile's.

BENCH_OUT      := build/bench
BENCH_LOADGEN  := $(BENCH_OUT)/ferry-loadgen
BENCH_SRCS     := $(wildcard bench/loadgen/*.cpp)
BENCH_OBJS     := $(BENCH_SRCS:bench/loadgen/%.cpp=$(BENCH_OUT)/%.o)
BENCH_CXX      ?= g++
BENCH_CXXFLAGS := -std=c++20 -O2 -g -Wall -Wextra -Werror -pthread -MMD -MP

.PHONY: bench-loadgen
bench-loadgen: $(BENCH_LOADGEN)

$(BENCH_LOADGEN): $(BENCH_OBJS)
	$(BENCH_CXX) -pthread $^ -o $@ -lssl -lcrypto

$(BENCH_OUT)/%.o: bench/loadgen/%.cpp
	@mkdir -p $(dir $@)
	$(BENCH_CXX) $(BENCH_CXXFLAGS) -c $< -o $@

-include $(BENCH_OBJS:.o=.d)

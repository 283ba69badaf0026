# A thin front for CMake and the two scripts the README names.
BUILD ?= build

.PHONY: all demo test test-quick clean
all:
	cmake -S . -B $(BUILD)
	cmake --build $(BUILD) -j

demo:
	scripts/demo.sh

test:
	scripts/test.sh

test-quick:
	scripts/test.sh --quick

clean:
	rm -rf build build-asan build-tsan

# cmake -P tests/cmake/test_torch_compatibility.cmake: the LibTorch compatibility checks on made-up
# inputs (a LibTorch 2.x cannot be installed on the development machine).
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/TorchCompatibility.cmake)

function(expect_eq actual expected what)
  if(NOT "${actual}" STREQUAL "${expected}")
    message(FATAL_ERROR "${what}: expected '${expected}', got '${actual}'")
  endif()
endfunction()

# The C++11 ABI (Debian's 1.13, cxx11-abi downloads) and no flag at all pass.
caig_torch_abi_error("-D_GLIBCXX_USE_CXX11_ABI=1" "/usr/lib/torch" err)
expect_eq("${err}" "" "C++11 ABI")
caig_torch_abi_error("" "/usr/lib/torch" err)
expect_eq("${err}" "" "no ABI flag")
# The pre-C++11 ABI of a pip wheel stops with a message naming the LibTorch and the way out.
caig_torch_abi_error("-O2 -D_GLIBCXX_USE_CXX11_ABI=0" "/opt/venv/torch/share/cmake/Torch" err)
foreach(part "/opt/venv/torch/share/cmake/Torch" "_GLIBCXX_USE_CXX11_ABI=0"
             "libtorch-cxx11-abi-shared-with-deps" "PyTorch >= 2.7")
  string(FIND "${err}" "${part}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the ABI message lacks '${part}': ${err}")
  endif()
endforeach()

# fmt: the shared library unless one of LibTorch's include directories ships fmt headers.
set(root ${CMAKE_CURRENT_BINARY_DIR}/torch_compat_scratch)
file(REMOVE_RECURSE ${root})
file(MAKE_DIRECTORY ${root}/plain/include ${root}/bundled/include/api ${root}/bundled/include/fmt)
file(WRITE ${root}/bundled/include/fmt/format.h "")
caig_fmt_target("${root}/plain/include" target)
expect_eq("${target}" "fmt::fmt" "no bundled fmt")
caig_fmt_target("" target)
expect_eq("${target}" "fmt::fmt" "no include directories")
caig_fmt_target("${root}/bundled/include/api;${root}/bundled/include" target)
expect_eq("${target}" "fmt::fmt-header-only" "bundled fmt")
file(REMOVE_RECURSE ${root})
message(STATUS "torch compatibility checks: all passed")

# Checks that a LibTorch found through CMAKE_PREFIX_PATH fits the Debian libraries it is linked
# with. Pure functions of their inputs, so tests/cmake/test_torch_compatibility.cmake can run them
# on made-up LibTorch layouts.

# The pre-C++11 std::string ABI (-D_GLIBCXX_USE_CXX11_ABI=0 in TORCH_CXX_FLAGS: the pip wheels of
# PyTorch before 2.7) only reaches the targets that link torch, while our torch-free libraries and
# Debian's fmt, OpenCV, GTest and Google Benchmark use the C++11 ABI: the link would fail on every
# std::string that crosses. Sets <out> to the message to stop with, or to "" when the ABI fits.
function(caig_torch_abi_error torch_cxx_flags torch_dir out)
  if(torch_cxx_flags MATCHES "_GLIBCXX_USE_CXX11_ABI=0")
    set(${out}
        "caig: the LibTorch in ${torch_dir} is built with the pre-C++11 std::string ABI "
        "(_GLIBCXX_USE_CXX11_ABI=0), which Debian's fmt, OpenCV and GTest cannot link with. Use a "
        "LibTorch built with the C++11 ABI: the 'libtorch-cxx11-abi-shared-with-deps' download of "
        "the same version, or the torch/share/cmake of a PyTorch >= 2.7 install."
        PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

# Newer PyTorch installs put their own fmt headers in LibTorch's include directory, which is
# searched before /usr/include: files that include torch would then compile against that fmt and
# link Debian's libfmt of another version. With such headers every target uses fmt header-only, so
# no file links a libfmt its headers do not match. Sets <out> to the fmt target to link.
function(caig_fmt_target torch_include_dirs out)
  set(target fmt::fmt)
  foreach(dir IN LISTS torch_include_dirs)
    if(EXISTS "${dir}/fmt/format.h")
      set(target fmt::fmt-header-only)
    endif()
  endforeach()
  set(${out} ${target} PARENT_SCOPE)
endfunction()

# The one warning list for our own targets (never global flags).
# gw_apply_warnings(<target>) adds it; GW_WERROR turns warnings into errors and
# GW_SANITIZE adds ASan+UBSan to compile and link; GW_TSAN adds
# ThreadSanitizer the same way; GW_FUZZ (clang) builds
# everything with libFuzzer coverage plus ASan+UBSan.
set(GW_WARNING_FLAGS
  -Wall
  -Wextra
  -Wpedantic
  -Wshadow
  -Wpointer-arith
  -Wcast-align
  -Wwrite-strings
  -Wstrict-prototypes
  -Wmissing-prototypes
  -Wold-style-definition
  -Wredundant-decls
  -Wnested-externs
  -Wformat=2
  -Wformat-security
  -Wundef
  -Wvla
  -Wdouble-promotion
  -Wno-unused-parameter
  -Wno-overlength-strings
)

function(gw_apply_warnings target)
  target_compile_options(${target} PRIVATE ${GW_WARNING_FLAGS})
  if(GW_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE)
  if(GW_FUZZ)
    # libFuzzer coverage on everything; the harnesses add -fsanitize=fuzzer.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                           -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(GW_TSAN)
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  elseif(GW_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined
                           -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

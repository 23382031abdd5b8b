# cmake -DCLANGXX=<clang++> -DSOURCE=<file.cc> -DINCLUDES=<dir;...> -DEXPECT=fail|pass
#       [-DERRORS=<message|...>] -P CheckThreadSafety.cmake  (lists separated by "|")
#
# Compiles SOURCE with clang's thread-safety analysis as an error (-fsyntax-only). EXPECT=pass:
# it must compile. EXPECT=fail: it must fail with exactly the thread-safety errors in ERRORS
# (each message as often as listed, and no error of any other kind), so that the check cannot
# pass on a broken include or a typo.
set(args -std=c++17 -Wthread-safety -Werror -fsyntax-only -fno-color-diagnostics)
string(REPLACE "|" ";" INCLUDES "${INCLUDES}")
foreach(dir IN LISTS INCLUDES)
  list(APPEND args -I${dir})
endforeach()
execute_process(COMMAND ${CLANGXX} ${args} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(EXPECT STREQUAL "pass")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${SOURCE} must compile under -Wthread-safety -Werror:\n${out}")
  endif()
  message(STATUS "${SOURCE}: compiles (as it must)")
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled: the thread-safety analysis did not run or did not "
                      "reject the unlocked accesses")
endif()
string(REPLACE "|" ";" ERRORS "${ERRORS}")
string(REGEX MATCHALL "error: [^\n]*" errors "${out}")
set(reported "")
foreach(error IN LISTS errors)
  if(NOT error MATCHES "^error: (.*) \\[-Werror,-Wthread-safety-analysis\\]$")
    message(FATAL_ERROR "${SOURCE}: an error other than the thread-safety analysis:\n${out}")
  endif()
  list(APPEND reported "${CMAKE_MATCH_1}")
endforeach()
list(SORT reported)
list(SORT ERRORS)
if(NOT reported STREQUAL ERRORS)
  string(REPLACE ";" "\n  " want "${ERRORS}")
  message(FATAL_ERROR "${SOURCE}: clang's errors are not the expected ones.\nExpected:\n  ${want}\n"
                      "Output:\n${out}")
endif()
list(LENGTH reported found)
message(STATUS "${SOURCE}: rejected with the ${found} expected thread-safety errors")

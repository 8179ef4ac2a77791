# fp_add_library(<name> PUBLIC_DEPS ... PRIVATE_DEPS ... [PCH header...])
#
# Creates the library fp_<name> (alias fp::<name>) from <name>/src/*.cpp with
# <name>/include as its public include directory. One folder, one library.
function(fp_add_library name)
  cmake_parse_arguments(ARG "" "" "PUBLIC_DEPS;PRIVATE_DEPS;PCH" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS
       "${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp")
  add_library(fp_${name} STATIC ${sources})
  add_library(fp::${name} ALIAS fp_${name})
  target_include_directories(fp_${name}
    PUBLIC "${CMAKE_CURRENT_SOURCE_DIR}/include"
    PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
  target_link_libraries(fp_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  fp_set_warnings(fp_${name})
  if(ARG_PCH AND FP_USE_PCH)
    target_precompile_headers(fp_${name} PRIVATE ${ARG_PCH})
  endif()
endfunction()

# Warnings on everywhere; FP_WERROR turns them into errors (CI keeps them clean).
function(fp_set_warnings target)
  # -Wrestrict is off because GCC 12 reports false overlaps inside
  # libstdc++'s string concatenation at -O3 (GCC bug 105329).
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic
                         -Wno-missing-field-initializers -Wno-restrict)
  if(FP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# fp_add_test(<name> SOURCES ... DEPS ... [LABELS ...])
# One Catch2 executable; its test cases are discovered for ctest (except
# PostgreSQL test executables, which run as one ctest entry each).
function(fp_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} Catch2::Catch2)
  fp_set_warnings(${name})
  set(labels ${ARG_LABELS})
  if(NOT labels)
    set(labels unit)
  endif()
  if("pg" IN_LIST labels)
    # One ctest entry for the whole executable: its main starts one private
    # PostgreSQL cluster for all of its test cases (per-case processes would
    # start it again for every case).
    add_test(NAME ${name} COMMAND ${name} --order decl)
    set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 900)
  else()
    catch_discover_tests(${name}
      PROPERTIES LABELS "${labels}"
      DISCOVERY_MODE PRE_TEST)
  endif()
endfunction()

# One helper for libraries and tests, as Abseil's absl_cc_library.

function(kexin_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-missing-field-initializers)
  if(KEXIN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(KEXIN_BUILD_FUZZ)
    # Coverage instrumentation for the code under test; the fuzz executables add the driver.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
  if(KEXIN_SANITIZE)
    # Every sanitizer report fails the test that triggers it.
    target_compile_options(${target} PRIVATE -fsanitize=${KEXIN_SANITIZE} -fno-omit-frame-pointer
                                             -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${KEXIN_SANITIZE})
  endif()
endfunction()

# kexin_cc_library(NAME n SRCS ... DEPS ...) defines target kexin_<n>.
function(kexin_cc_library)
  cmake_parse_arguments(K "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(kexin_${K_NAME} STATIC ${K_SRCS})
  target_include_directories(kexin_${K_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(kexin_${K_NAME} PUBLIC ${K_DEPS})
  kexin_target_options(kexin_${K_NAME})
endfunction()

# kexin_cc_test(NAME n SRCS ... DEPS ...) defines a GoogleTest binary registered with CTest.
function(kexin_cc_test)
  cmake_parse_arguments(K "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${K_NAME} ${K_SRCS})
  target_link_libraries(${K_NAME} PRIVATE ${K_DEPS} GTest::gtest GTest::gtest_main)
  kexin_target_options(${K_NAME})
  add_test(NAME ${K_NAME} COMMAND ${K_NAME})
  set_tests_properties(${K_NAME} PROPERTIES ENVIRONMENT "KEXIN_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# A test whose source may be added later in a change series: skipped until the file exists.
function(kexin_optional_test name src)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${src})
    kexin_cc_test(NAME ${name} SRCS ${src} DEPS ${ARGN})
  endif()
endfunction()

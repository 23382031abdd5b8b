# Helpers shared by every CMakeLists.txt of the project.

# qcash_test(NAME <name> SOURCES <files...> LIBS <targets...> [LABELS <labels...>])
#
# One GoogleTest executable registered with CTest. Unit tests carry the label "unit";
# tests that start PostgreSQL, Redis and service processes carry "integration".
function(qcash_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

# qcash_embed_migrations(<target> <namespace> <sql files...>)
#
# Compiles a service's versioned SQL migrations into the binary, so that an image needs no
# loose files and the service applies exactly the schema it was built with. The generated
# source defines `const std::vector<qcash::Migration>& <namespace>::Migrations()`.
function(qcash_embed_migrations target ns)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_migrations.cc)
  string(REPLACE ";" "|" files "${ARGN}")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNS=${ns} "-DFILES=${files}"
            -P ${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake
    DEPENDS ${ARGN} ${PROJECT_SOURCE_DIR}/cmake/EmbedMigrations.cmake
    COMMENT "Embedding SQL migrations for ${target}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()

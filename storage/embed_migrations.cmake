# Writes a C++ source holding every migration, so the binary carries its
# schema and never depends on where it is run from.
#   -DMIGRATIONS_DIR=... -DOUTPUT=...
file(GLOB files "${MIGRATIONS_DIR}/*.sql")
list(SORT files)
set(body "// Generated from storage/migrations/*.sql; do not edit.\n")
string(APPEND body "#include \"storage/migrations.hpp\"\n\nnamespace pay::storage {\n\n")
string(APPEND body "const std::vector<migration>& embedded_migrations() {\n")
string(APPEND body "  static const std::vector<migration> all{\n")
foreach(f IN LISTS files)
  get_filename_component(name "${f}" NAME_WE)
  string(REGEX MATCH "^[0-9]+" number "${name}")
  math(EXPR version "${number}")
  file(READ "${f}" sql)
  string(APPEND body "    {${version}, \"${name}\", R\"migration_sql(${sql})migration_sql\"},\n")
endforeach()
string(APPEND body "  };\n  return all;\n}\n\n}  // namespace pay::storage\n")
file(WRITE "${OUTPUT}.tmp" "${body}")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)

# Install rules of the eventbus library (included from the top-level
# CMakeLists.txt). The services and tools are not installed: they are run
# from build/bin or the container image.
include(CMakePackageConfigHelpers)

set(EB_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/eventbus)
set(EB_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# eb_warnings is linked PRIVATE, which a static library still records as a
# link-only dependency: it is exported too (it carries no usage requirement
# to a program that links eventbus).
install(TARGETS eventbus eb_warnings EXPORT eventbusTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/eventbus
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h"
  PATTERN "app" EXCLUDE) # the daemons' start-up helpers are not part of the library
install(EXPORT eventbusTargets NAMESPACE eventbus:: DESTINATION ${EB_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/eventbusConfig.cmake.in
  ${CMAKE_BINARY_DIR}/eventbusConfig.cmake INSTALL_DESTINATION ${EB_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/eventbusConfigVersion.cmake
  COMPATIBILITY SameMinorVersion) # 0.x: a minor version may break the API
install(FILES ${CMAKE_BINARY_DIR}/eventbusConfig.cmake
  ${CMAKE_BINARY_DIR}/eventbusConfigVersion.cmake DESTINATION ${EB_CMAKE_DIR})

# From <libdir>/pkgconfig back to the prefix, so that the .pc file works
# wherever the prefix is (cmake --install --prefix decides it late).
file(RELATIVE_PATH EB_PC_TO_PREFIX /prefix/${EB_PC_DIR} /prefix)
configure_file(${CMAKE_CURRENT_LIST_DIR}/eventbus.pc.in ${CMAKE_BINARY_DIR}/eventbus.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/eventbus.pc DESTINATION ${EB_PC_DIR})

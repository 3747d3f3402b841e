# Every external dependency as an imported target, found through pkg-config.
# The Debian package that provides each one is named beside it; the
# installer (scripts/install-deps) keeps the same list.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(EVENT_CORE    REQUIRED IMPORTED_TARGET libevent_core>=2.1)     # libevent-dev
pkg_check_modules(EVENT_OPENSSL REQUIRED IMPORTED_TARGET libevent_openssl>=2.1)  # libevent-dev
pkg_check_modules(EVENT_PTHREADS REQUIRED IMPORTED_TARGET libevent_pthreads>=2.1) # libevent-dev
pkg_check_modules(CURL          REQUIRED IMPORTED_TARGET libcurl>=7.74)          # libcurl4-openssl-dev
pkg_check_modules(XML2          REQUIRED IMPORTED_TARGET libxml-2.0>=2.9)        # libxml2-dev
pkg_check_modules(XMLSEC        REQUIRED IMPORTED_TARGET xmlsec1-openssl>=1.2.30) # libxmlsec1-dev
pkg_check_modules(OPENSSL       REQUIRED IMPORTED_TARGET openssl>=3.0)           # libssl-dev
pkg_check_modules(JANSSON       REQUIRED IMPORTED_TARGET jansson>=2.13)          # libjansson-dev
pkg_check_modules(HIREDIS       REQUIRED IMPORTED_TARGET hiredis>=0.14)          # libhiredis-dev
pkg_check_modules(ICU_UC        REQUIRED IMPORTED_TARGET icu-uc>=67)             # libicu-dev (NFC of names)
if(GW_TESTS)
  pkg_check_modules(CMOCKA      REQUIRED IMPORTED_TARGET cmocka>=1.1)            # libcmocka-dev
endif()

/*
 * version.c - what --version prints, and the User-Agent.
 */
#include "bootstrap.h"

#include "version.h"

#include <archive.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

void version_print(FILE *f)
{
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

    fprintf(f, "%s %s\n", BS_PROGRAM, BS_VERSION);
    fprintf(f, "  libcurl    %s (TLS: %s%s%s)\n", cv->version,
            cv->ssl_version ? cv->ssl_version : "none",
            (cv->features & CURL_VERSION_HTTP2) ? ", HTTP/2" : "", cv->ares ? ", c-ares" : "");
    fprintf(f, "  libarchive %s\n", archive_version_details());
    fprintf(f, "  cJSON      %s\n", cJSON_Version());
    fprintf(f, "  OpenSSL    %s\n", OpenSSL_version(OPENSSL_VERSION));
#ifdef BS_STATIC_BUILD
    fprintf(f, "  build      static (musl)\n");
#else
    fprintf(f, "  build      dynamic\n");
#endif
}

const char *version_user_agent(void)
{
    static char ua[256];

    if (!ua[0]) {
        const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
        (void)snprintf(ua, sizeof(ua),
                       "%s/%s (finnish-tts-launchable; +hf_hub-compatible) libcurl/%s", BS_PROGRAM,
                       BS_VERSION, cv->version);
    }
    return ua;
}

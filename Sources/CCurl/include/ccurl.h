// Non-variadic wrappers over libcurl's easy interface: Swift cannot call the variadic
// curl_easy_setopt / curl_easy_getinfo, so each argument type gets its own function.
#ifndef CCURL_H
#define CCURL_H

#include <curl/curl.h>

/// curl_global_init(CURL_GLOBAL_DEFAULT) exactly once per process, whatever thread asks first.
/// Returns the result of that one call.
CURLcode ccurl_global_init_once(void);

CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode ccurl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode ccurl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);

/// The callback libcurl calls for the bytes to upload (CURLOPT_READFUNCTION); its userdata is
/// set with CURLOPT_READDATA through ccurl_setopt_pointer.
typedef size_t (*ccurl_read_callback)(char *buffer, size_t size, size_t count, void *userdata);
CURLcode ccurl_setopt_read_function(CURL *handle, ccurl_read_callback callback);

/// The progress callback (CURLOPT_XFERINFOFUNCTION, with CURLOPT_NOPROGRESS turned off): a
/// non-zero answer aborts the transfer. Its userdata is set with CURLOPT_XFERINFODATA.
typedef int (*ccurl_progress_callback)(void *userdata, curl_off_t download_total, curl_off_t downloaded,
                                       curl_off_t upload_total, curl_off_t uploaded);
CURLcode ccurl_setopt_progress_function(CURL *handle, ccurl_progress_callback callback);

/// Lets a transfer go on when some (not all) recipients are refused: one bad alert address must
/// not stop the others (CURLOPT_MAIL_RCPT_ALLOWFAILS, spelled ALLLOWFAILS before curl 8.2).
CURLcode ccurl_allow_recipient_failures(CURL *handle);

CURLcode ccurl_getinfo_long(CURL *handle, CURLINFO info, long *value);

/// CURL_ERROR_SIZE, for the buffer given to CURLOPT_ERRORBUFFER.
long ccurl_error_size(void);

#endif

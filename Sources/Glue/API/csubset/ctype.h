/*
 * <ctype.h> of the C subset (husk/glue/csubset.h), for vendored code only:
 * the "C" locale's classes, as inline functions (no symbols).
 */
#ifndef HUSK_CSUBSET_CTYPE_H
#define HUSK_CSUBSET_CTYPE_H

static inline int glue_ctype_isdigit(int c) { return c >= '0' && c <= '9'; }
static inline int glue_ctype_isupper(int c) { return c >= 'A' && c <= 'Z'; }
static inline int glue_ctype_islower(int c) { return c >= 'a' && c <= 'z'; }
static inline int glue_ctype_isalpha(int c) { return glue_ctype_isupper(c) || glue_ctype_islower(c); }
static inline int glue_ctype_isalnum(int c) { return glue_ctype_isalpha(c) || glue_ctype_isdigit(c); }
static inline int glue_ctype_isxdigit(int c) {
    return glue_ctype_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static inline int glue_ctype_isspace(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
static inline int glue_ctype_isprint(int c) { return c >= 0x20 && c < 0x7f; }
static inline int glue_ctype_iscntrl(int c) { return (c >= 0 && c < 0x20) || c == 0x7f; }
static inline int glue_ctype_ispunct(int c) { return glue_ctype_isprint(c) && c != ' ' && !glue_ctype_isalnum(c); }
static inline int glue_ctype_toupper(int c) { return glue_ctype_islower(c) ? c - 'a' + 'A' : c; }
static inline int glue_ctype_tolower(int c) { return glue_ctype_isupper(c) ? c - 'A' + 'a' : c; }

#define isdigit  glue_ctype_isdigit
#define isupper  glue_ctype_isupper
#define islower  glue_ctype_islower
#define isalpha  glue_ctype_isalpha
#define isalnum  glue_ctype_isalnum
#define isxdigit glue_ctype_isxdigit
#define isspace  glue_ctype_isspace
#define isprint  glue_ctype_isprint
#define iscntrl  glue_ctype_iscntrl
#define ispunct  glue_ctype_ispunct
#define toupper  glue_ctype_toupper
#define tolower  glue_ctype_tolower

#endif

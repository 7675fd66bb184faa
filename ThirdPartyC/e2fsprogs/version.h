/*
 * version.h --- controls the version number printed by the e2fs
 * programs.
 *
 * Copyright 1995, 1996, 1997, 1998, 1999, 2000, 2001, 2002, 2003,
 * 2004, 2005, 2006, 2007, 2008, 2009, 2010, 2011, 2012, 2013, 2014,
 * 2015, 2016, 2017, 2018, 2019, 2020, 2021, 2022, 2023 by Theodore
 * Ts'o.  This file may be redistributed under the GNU General Public
 * License v2.
 */

#define E2FSPROGS_VERSION "1.47.0"
#define E2FSPROGS_DATE "5-Feb-2023"

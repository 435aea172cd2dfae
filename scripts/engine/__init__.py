"""The guide's engine: runs snippets and benchmarks, stores results, renders docs.

Modules, in the order data flows through them:

* ``paths``         where everything lives
* ``snippets``      discovers the paired example files and their named sections
* ``pages``         finds what each page folder adds: its benchmark cases and build steps
* ``keys``          what a cached result depends on (code, helpers, versions, device)
* ``environment``   versions, device and hardware, read without importing a framework
* ``snippet_runner`` runs each snippet in its own process and caches its output
* ``codestats``     counts what each side of a pair needed (lines, concepts)
* ``build_info``    the hardware/version banner pages include
* ``atomic``        crash-safe and change-only file writes
* ``hook``          the MkDocs hook that runs all of the above (and each page's steps) before pages render
* ``bench``         the benchmark harness, results store and renderers
"""

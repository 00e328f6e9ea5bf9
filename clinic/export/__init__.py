"""Exports: PDF rendering with WeasyPrint, server-side SVG charts, safe CSV."""

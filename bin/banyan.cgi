#!/usr/bin/env python3
"""The Banyan API as a CGI script: routes on PATH_INFO (/cgi-bin/banyan.cgi/scheduler/jobs).

State folder from BANYAN_STATE or banyan.conf beside this script. Code: banyan/cgi/.
"""
import os
import sys

_root = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
if os.path.isfile(os.path.join(_root, "banyan", "cgi", "__init__.py")):
    sys.path.insert(0, _root)  # run from a checkout; an installed banyan is found without this

from banyan.cgi import main  # noqa: E402

sys.exit(main(__file__))

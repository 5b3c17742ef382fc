"""One file per revision: ``NNNN_what.py``, each naming the revision it follows."""

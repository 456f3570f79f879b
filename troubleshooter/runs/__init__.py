"""Live experiments in the browser: the form, the run record, the executor and the socket."""

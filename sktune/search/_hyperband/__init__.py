"""HyperbandSearchCV's pieces: the bracket and rung schedule (``brackets``),
rungs without barriers (``rungs``), training a candidate further between
rungs (``continuation``) and the BOHB-style proposals (``proposer``)."""

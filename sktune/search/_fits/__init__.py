"""What runs a search's fits: the round-based base class (``rounds``), the
scheduler that starts each candidate's per-fold fits as workers free up
(``scheduler``), the pools behind joblib's backends (``pool``), candidates
with their own per-split work (``task_hook``), failed fits (``failures``) and
the checkpoint of finished rounds and running fits (``checkpoint``)."""

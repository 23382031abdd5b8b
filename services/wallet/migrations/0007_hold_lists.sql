-- ListHolds (issue 17): a caller asks for its open holds, or for one application's holds,
-- instead of remembering them. The primary key (seller_id, hold_id) pages every hold of a
-- seller; these two serve the filters that would otherwise walk all of a seller's resolved
-- holds to find the few that match. Both lead with seller_id (docs/SCALING.md).

-- The open holds of a seller, newest first: small (only pending rows), so cheap to keep.
CREATE INDEX holds_open_by_seller ON holds (seller_id, hold_id) WHERE state = 1;
-- One booking reference's holds (an application's hold and any retried one), newest first.
CREATE INDEX holds_by_reference ON holds (seller_id, reference, hold_id);

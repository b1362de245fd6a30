-- Where a meter was when an event found it: the org holding it and the concentrator reading it, before the
-- event changed them. With from_state, the first event after an instant tells what the meter was at that
-- instant; a meter with no event since is as its row says. Events recorded before this column came get the
-- org the event before them named (their concentrator is unknown): the best the trail can tell.
ALTER TABLE meter_event ADD COLUMN from_org_path text;
ALTER TABLE meter_event ADD COLUMN from_concentrator_id integer;
UPDATE meter_event e SET from_org_path = p.org_path
FROM (SELECT id, lag(org_path) OVER (PARTITION BY meter_id ORDER BY at, id) AS org_path FROM meter_event) p
WHERE p.id = e.id AND p.org_path IS NOT NULL;
-- the events after an instant (a past day's counts read only those)
CREATE INDEX meter_event_at_idx ON meter_event (at);

-- Meters by lifecycle state as they stood at an instant (the end of a business day), counted where the asset
-- list places a meter: on a concentrator at its area's grid (with the area's team), else at the org holding it
-- (org_path null: nobody known). A meter not yet arrived then is not counted. For the asset KPIs of past days.
CREATE FUNCTION assets_meter_counts_at(p_at timestamptz)
RETURNS TABLE (state text, org_path text, team_id integer, meters bigint)
LANGUAGE sql STABLE AS $$
  WITH since AS (
    -- each meter changed since the instant: what its first event since then found
    SELECT DISTINCT ON (e.meter_id) e.meter_id, e.from_state, e.from_org_path, e.from_concentrator_id
    FROM meter_event e WHERE e.at >= p_at
    ORDER BY e.meter_id, e.at, e.id),
  stood AS (
    SELECT CASE WHEN s.meter_id IS NULL THEN m.state ELSE s.from_state END AS state,
           CASE WHEN s.meter_id IS NULL THEN m.concentrator_id ELSE s.from_concentrator_id END AS concentrator_id,
           CASE WHEN s.meter_id IS NULL THEN m.custody_org_path ELSE COALESCE(s.from_org_path, m.custody_org_path) END AS custody,
           count(*) AS meters
    FROM meter m LEFT JOIN since s ON s.meter_id = m.id
    GROUP BY 1, 2, 3)
  SELECT st.state, COALESCE(g.path, st.custody), ta.team_id, sum(st.meters)::bigint
  FROM stood st
  LEFT JOIN concentrator k ON k.id = st.concentrator_id
  LEFT JOIN transformer_area ta ON ta.id = k.transformer_area_id
  LEFT JOIN org_unit g ON g.id = ta.grid_id
  WHERE st.state IS NOT NULL
  GROUP BY 1, 2, 3
$$;

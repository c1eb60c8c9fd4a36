-- Enrollments active at the end of the range: enrolled before it, and neither completed
-- nor exited before it (the 2299-12-31 sentinel of `ended_at` means never).
--
-- FINAL merges each enrollment's rows (its minimum start and end) while reading, before
-- the WHERE on them applies (the setting below keeps that filter from moving to a
-- PREWHERE, which would see the unmerged rows). It reads the tenant's rows once in key
-- order, where a GROUP BY of them built a hash table (largest bench tenant, 65k
-- enrollments: 8 ms against 30 ms).
SELECT count() AS active
FROM enrollment_states FINAL
WHERE tenant_id = {tenant:String}
  AND ({sequence_id:String} = '' OR sequence_id = {sequence_id:String})
  AND enrolled_at < {end:DateTime64(3, 'UTC')} AND ended_at >= {end:DateTime64(3, 'UTC')}
SETTINGS optimize_move_to_prewhere_if_final = 0

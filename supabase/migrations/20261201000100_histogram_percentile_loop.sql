-- private.histogram_percentile(p_hist bigint[], p_q double precision), same contract and the same
-- answers (to the last digit: the arithmetic keeps the original's types), as a loop.
--
-- Why: job_health calls it three times per bucket and model whenever buckets are wider than a
-- minute (the console's 24-hour view: 96 buckets x 2 models x 3 = 576 calls). The set-based
-- version (unnest, two window sums, a sort) cost about 66 us a call; this one about 16 us
-- (20,000 random 40-bin histograms on the 2-core development machine), so the 24-hour view
-- spends about 30 ms less per refresh. Counts are bigint: a histogram's total fits, and the
-- comparison with p_q * total is done in double precision as before.
-- Not `set search_path`: a function-level setting is saved and restored on every call, and
-- this one touches no table, only built-in functions.
create or replace function private.histogram_percentile(p_hist bigint[], p_q double precision) returns double precision
language plpgsql
immutable
parallel safe
as $$
declare
  v_total bigint := 0;
  v_cum bigint := 0;
  v_count bigint;
  v_bin integer := 0;
  v_lo numeric;
  v_hi numeric;
begin
  if p_hist is null then
    return null;
  end if;
  foreach v_count in array p_hist loop
    v_total := v_total + coalesce(v_count, 0);
  end loop;
  -- The first non-empty bin whose cumulative count reaches the quantile; linear inside it.
  -- Bin 1 is [0, 25) ms, bin i > 1 is [25 * 1.25^(i-2), 25 * 1.25^(i-1)) ms (private.latency_bin).
  foreach v_count in array p_hist loop
    v_bin := v_bin + 1;
    v_cum := v_cum + coalesce(v_count, 0);
    if v_count > 0 and v_cum >= p_q * v_total then
      v_lo := case when v_bin = 1 then 0 else 25 * power(1.25, v_bin - 2) end;
      v_hi := 25 * power(1.25, v_bin - 1);
      return round((v_lo + (v_hi - v_lo) * (p_q * v_total - (v_cum - v_count)) / v_count)::numeric, 1)::double precision;
    end if;
  end loop;
  return null;
end;
$$;

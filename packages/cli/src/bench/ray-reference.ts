// Ray's published `ray microbenchmark` numbers (Ray 2.48, one m5.16xlarge, 64 vCPU; REFERENCE.md),
// printed beside tray's. Byte keys are GB/s, the others operations per second.
export const RAY_REFERENCE: Readonly<Record<string, number>> = {
  single_client_get_calls_Plasma_Store: 10_620,
  single_client_put_calls_Plasma_Store: 5_173,
  multi_client_put_calls_Plasma_Store: 16_526,
  single_client_put_gigabytes: 19.9,
  multi_client_put_gigabytes: 38.1,
  single_client_tasks_and_get_batch: 5.8,
  single_client_get_object_containing_10k_refs: 13.4,
  single_client_wait_1k_refs: 5.1,
  single_client_tasks_sync: 981,
  single_client_tasks_async: 8_041,
  multi_client_tasks_async: 21_230,
  '1_1_actor_calls_sync': 2_012,
  '1_1_actor_calls_async': 8_664,
  '1_1_actor_calls_concurrent': 5_775,
  '1_n_actor_calls_async': 8_038,
  n_n_actor_calls_async: 27_376,
  n_n_actor_calls_with_arg_async: 2_759,
  '1_1_async_actor_calls_sync': 1_460,
  '1_1_async_actor_calls_async': 4_260,
  '1_1_async_actor_calls_with_args_async': 2_836,
};

export const RAY_MACHINE = 'Ray 2.48, m5.16xlarge, 64 vCPU';

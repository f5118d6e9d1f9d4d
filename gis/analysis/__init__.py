"""Analysis methods: inequality decomposition, composite indices (MCDA) and the geographical detector."""

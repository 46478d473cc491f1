export * from './wait-times.service';
export * from './wait-times.dto';
export * from './waitlists.module';
export * from './registry.dto';
export * from './registry-import';
export * from './provider-registry.service';
export * from './registry-reads';
export * from './demo-registry';

import { LineChart } from '@mantine/charts';
import '@mantine/charts/styles.css';

export interface Sample {
  time: string;
  rows: number;
  lag: number | null;
}

/** Rows synced and lag over the samples the page has polled (client-side history). */
export default function SyncChart({ samples }: { samples: Sample[] }) {
  return (
    <LineChart
      h={180}
      data={samples}
      dataKey="time"
      withLegend
      legendProps={{ verticalAlign: 'bottom' }}
      curveType="monotone"
      withDots={false}
      series={[
        { name: 'rows', label: 'Rows synced', color: 'indigo.6' },
        { name: 'lag', label: 'Lag (s)', color: 'orange.6', yAxisId: 'right' },
      ]}
      withRightYAxis
      rightYAxisProps={{ width: 40 }}
      yAxisProps={{ width: 50 }}
      connectNulls
    />
  );
}
